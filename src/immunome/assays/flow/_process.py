"""One FCS file end to end: read → QC → compensate → transform → gate → population table."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from immunome.assays.flow._comp import (
    Compensation,
    check_against_sample,
    read_comp_csv,
    spill_from_sample,
)
from immunome.assays.flow._gate import apply_gates
from immunome.assays.flow._qc import QcThresholds, qc_table
from immunome.assays.flow._read import file_sha256, read_fcs
from immunome.assays.flow._template import Template, load_template


@dataclass
class FlowResult:
    """Populations and QC of one processed FCS file.

    ``populations``: sample_id, population, parent, path, count, parent_count, pct_parent,
    pct_total. ``qc``: sample_id, metric, value, flag.

    Example:
        >>> r = process_fcs("OMIP021_Donor1.fcs", template="omip021")  # doctest: +SKIP
        >>> r.populations.set_index("population")["pct_parent"]  # doctest: +SKIP
    """

    file: str
    sample_id: str
    sha256: str
    template: str
    assay: str | None
    compensation: str
    n_events: int
    populations: pd.DataFrame
    qc: pd.DataFrame
    cached: bool = field(default=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (used by the batch cache)."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["populations"] = self.populations.to_dict(orient="records")
        d["qc"] = self.qc.to_dict(orient="records")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FlowResult:
        """Inverse of :meth:`to_dict`."""
        from immunome.assays.flow._gate import POPULATION_COLUMNS
        from immunome.assays.flow._qc import QC_COLUMNS

        kw = dict(d)
        kw["populations"] = pd.DataFrame(d["populations"], columns=POPULATION_COLUMNS)
        kw["qc"] = pd.DataFrame(d["qc"], columns=QC_COLUMNS)
        return cls(**kw)


def resolve_compensation(comp: Compensation | str | Path | None) -> Compensation | None:
    """Accept a :class:`Compensation`, a CSV path, or None (use the file's ``$SPILL``)."""
    if comp is None or isinstance(comp, Compensation):
        return comp
    return read_comp_csv(comp)


def process_fcs(
    path: str | Path,
    *,
    template: Template | str | Path,
    comp: Compensation | str | Path | None = None,
    sample_id: str | None = None,
    thresholds: QcThresholds | None = None,
    sha256: str | None = None,
) -> FlowResult:
    """Process one FCS file with a Gating-ML template.

    Compensation is ``comp`` when given (CSV path or matrix), else the file's own
    ``$SPILLOVER``/``$SPILL``, else none. Raises :class:`~immunome.errors.FlowError` naming
    the file (and channel) for unreadable files, mismatched matrices or missing channels.

    Example:
        >>> r = process_fcs("100715.fcs", template="tcell-memory-100715")  # doctest: +SKIP
        >>> r.qc.set_index("metric").loc["event_count", "value"]  # doctest: +SKIP
        65016.0
    """
    p = Path(path)
    tpl = template if isinstance(template, Template) else load_template(template)
    sample = read_fcs(p, sample_id=sample_id)
    matrix = resolve_compensation(comp)
    if matrix is None:
        matrix = spill_from_sample(sample, file=str(p))
    if matrix is not None:
        check_against_sample(matrix, sample, file=str(p))
    qc = qc_table(sample, matrix, thresholds=thresholds)
    gated = apply_gates(sample, tpl, compensation=matrix, file=str(p))
    return FlowResult(
        file=str(p),
        sample_id=sample.id,
        sha256=sha256 or file_sha256(p),
        template=tpl.name,
        assay=tpl.assay,
        compensation=matrix.source if matrix is not None else "none",
        n_events=int(sample.event_count),
        populations=gated.populations,
        qc=qc,
    )
