"""The import report: every input row of every file either landed or is listed with its reason.

The report names rows by ``file:line`` only — never by subject accession — so it can be shared.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

#: Rejections listed one by one per file; beyond this they are counted by reason.
MAX_LISTED = 200


@dataclass
class Rejection:
    """One rejected row or cell, with the validator's (or the importer's) reason."""

    line: int
    reason: str
    column: str | None = None
    site: str | None = None


@dataclass
class FileReport:
    """Accounting for one input file: ``rows_landed + rows_rejected == rows_read``."""

    path: str
    sha256: str
    role: str  # "submitted" | "reference" | "documentation"
    rows_read: int = 0
    rows_landed: int = 0
    rows_rejected: int = 0
    cells_landed: int = 0
    cells_rejected: int = 0
    notes: list[str] = field(default_factory=list)
    columns_not_imported: dict[str, str] = field(default_factory=dict)
    rejected_rows: list[Rejection] = field(default_factory=list)
    rejected_cells: list[Rejection] = field(default_factory=list)
    row_reasons: Counter = field(default_factory=Counter)
    cell_reasons: Counter = field(default_factory=Counter)

    @property
    def balanced(self) -> bool:
        """True when every row read is accounted for."""
        return self.rows_landed + self.rows_rejected == self.rows_read

    def reject_row(
        self, line: int, reason: str, *, site: str | None = None, column: str | None = None
    ) -> None:
        """Record a rejected row."""
        self.rows_rejected += 1
        self.row_reasons[_rule(reason)] += 1
        if len(self.rejected_rows) < MAX_LISTED:
            self.rejected_rows.append(Rejection(line, reason, column, site))

    def reject_cell(self, line: int, column: str, reason: str, *, site: str | None = None) -> None:
        """Record a rejected cell (the rest of the row may still land)."""
        self.cells_rejected += 1
        self.cell_reasons[_rule(reason)] += 1
        if len(self.rejected_cells) < MAX_LISTED:
            self.rejected_cells.append(Rejection(line, reason, column, site))


def _rule(reason: str) -> str:
    """The ``[rule]`` of a validator message, or the message head, for counting."""
    if "[" in reason and "]" in reason:
        return reason[reason.index("[") + 1 : reason.index("]")]
    return reason.split(":")[0][:60]


@dataclass
class SiteReport:
    """One ImmPort study = one site = one submission bundle."""

    site: str
    status: str  # SubmitResult.status, or "failed"
    submission_id: str | None = None
    n_participants: int = 0
    n_samples: int = 0
    n_measurements: int = 0
    validation_rounds: int = 0
    warnings: dict[str, int] = field(default_factory=dict)
    message: str = ""


@dataclass
class ImportReport:
    """Outcome of :func:`immunome.datasets.import_10kip`.

    Example:
        >>> r = ImportReport(dataset="10kip", commit="abc")
        >>> f = r.add_file("hla.csv", "00", "submitted")
        >>> f.rows_read, f.rows_landed = 2, 1
        >>> f.reject_row(3, "samples.csv:3:day: [type] bad")
        >>> r.balanced, r.totals()["rows_rejected"]
        (True, 1)
    """

    dataset: str
    commit: str
    store: str = ""
    protocol: str = ""
    files: list[FileReport] = field(default_factory=list)
    sites: list[SiteReport] = field(default_factory=list)
    participant_conflicts: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)

    def add_file(self, path: str, sha256: str, role: str) -> FileReport:
        """Start the accounting of one input file."""
        fr = FileReport(path=path, sha256=sha256, role=role)
        self.files.append(fr)
        return fr

    def file(self, path: str) -> FileReport:
        """The :class:`FileReport` of ``path``."""
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(path)

    @property
    def balanced(self) -> bool:
        """Every submitted file accounts for 100% of its rows."""
        return all(f.balanced for f in self.files)

    def totals(self) -> dict[str, int]:
        """Sums over submitted files and sites."""
        sub = [f for f in self.files if f.role == "submitted"]
        keys = ("rows_read", "rows_landed", "rows_rejected", "cells_landed", "cells_rejected")
        out = {k: sum(getattr(f, k) for f in sub) for k in keys}
        out["sites"] = len(self.sites)
        out["sites_failed"] = sum(s.status == "failed" for s in self.sites)
        out["participants"] = sum(s.n_participants for s in self.sites)
        out["samples"] = sum(s.n_samples for s in self.sites)
        out["measurements"] = sum(s.n_measurements for s in self.sites)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        files = []
        for f in self.files:
            d = asdict(f)
            d["row_reasons"] = dict(f.row_reasons)
            d["cell_reasons"] = dict(f.cell_reasons)
            d["balanced"] = f.balanced
            files.append(d)
        return {
            "format": "immunome-import-report/1",
            "dataset": self.dataset,
            "commit": self.commit,
            "store": self.store,
            "protocol": self.protocol,
            "balanced": self.balanced,
            "totals": self.totals(),
            "decisions": self.decisions,
            "files": files,
            "sites": [asdict(s) for s in self.sites],
            "participant_conflicts": self.participant_conflicts,
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=str)

    def summary(self) -> str:
        """A short summary: one line per submitted file, then totals.

        Example:
            >>> ImportReport(dataset="10kip", commit="abc").summary().splitlines()[-1][:6]
            'total:'
        """
        lines = self.to_text().splitlines()
        keep = [
            ln
            for ln in lines
            if not ln.startswith(("  SDY", "    ", "sites:")) and "not submitted" not in ln
        ]
        return "\n".join(keep)

    def to_text(self) -> str:
        """A human summary: one line per file and per site, then totals."""
        t = self.totals()
        lines = [f"import {self.dataset} @ {self.commit[:12]} → {self.store}"]
        lines.append(f"{'file':58} {'read':>6} {'landed':>6} {'rejected':>8}  cells rej.")
        for f in self.files:
            if f.role != "submitted":
                lines.append(f"{f.path:58} ({f.role}: not submitted)")
                continue
            mark = "" if f.balanced else "  UNBALANCED"
            lines.append(
                f"{f.path:58} {f.rows_read:6d} {f.rows_landed:6d} {f.rows_rejected:8d}  {f.cells_rejected}{mark}"
            )
            for reason, n in f.row_reasons.most_common(3):
                lines.append(f"    rejected rows: {n} × {reason}")
            for reason, n in f.cell_reasons.most_common(3):
                lines.append(f"    rejected cells: {n} × {reason}")
        lines.append("sites:")
        for s in self.sites:
            lines.append(
                f"  {s.site:8} {s.status:10} participants={s.n_participants} samples={s.n_samples} "
                f"measurements={s.n_measurements} rounds={s.validation_rounds} {s.message}".rstrip()
            )
        lines.append(
            f"total: {t['rows_read']} rows read = {t['rows_landed']} landed + {t['rows_rejected']} rejected"
            f" ({'balanced' if self.balanced else 'NOT BALANCED'}); {t['cells_rejected']} cells rejected; "
            f"{t['sites']} sites, {t['participants']} participants, {t['samples']} samples, "
            f"{t['measurements']} measurements; {len(self.participant_conflicts)} participant conflicts resolved"
        )
        return "\n".join(lines)
