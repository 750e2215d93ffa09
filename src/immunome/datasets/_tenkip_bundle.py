"""Build one submission bundle per site from 10KIP source rows, and pre-screen it.

Pre-screening runs the very validator that :meth:`Store.submit` runs
(:func:`immunome.submission.validate_bundle`) and maps every error back to its source
``file:line`` — a bad cell is dropped (the rest of the row may land), a bad sample or participant
drops its rows — then rebuilds the bundle until the validator accepts it. The clean bundle then
goes through ``store.submit`` like any site's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from immunome.datasets._tenkip_rows import EXTRA_PARTICIPANT, SourceRows
from immunome.errors import DatasetError, ValidationFailed
from immunome.protocol import Protocol
from immunome.submission import Issue, ValidationReport, validate_bundle

MAX_ROUNDS = 40
PARTICIPANTS, SAMPLES = "participants.csv", "samples.csv"


class EmptySite(DatasetError):
    """Every row of a site was rejected: there is no bundle to submit."""


@dataclass
class _Map:
    """Where each line of each bundle file came from."""

    participants: list[str] = field(default_factory=list)
    samples: list[list[tuple[SourceRows, object]]] = field(default_factory=list)
    wide: dict[str, tuple[SourceRows, str, list[object], list[str]]] = field(default_factory=dict)
    long: dict[str, tuple[SourceRows, str, pd.DataFrame]] = field(default_factory=dict)


@dataclass
class SiteBundle:
    """The rows of one site, the bundle written from them, and the pre-screen outcome."""

    site: str
    tables: list[SourceRows]
    protocol: Protocol
    folder: Path
    dropped_participant_columns: set[str] = field(default_factory=set)
    rounds: int = 0
    warnings: Counter = field(default_factory=Counter)
    cell_reasons: dict[object, str] = field(default_factory=dict)
    conflicts: list[dict[str, object]] = field(default_factory=list)
    _map: _Map = field(default_factory=_Map)

    # rows of this site ----------------------------------------------------------------------
    def _live(self, t: SourceRows) -> pd.Index:
        m = t.meta
        return m.index[m["reject"].isna().to_numpy()]

    def _drop_empty_rows(self) -> None:
        for t in self.tables:
            live = self._live(t)
            if t.long:
                has = pd.Index(pd.concat([df["row"] for df in t.long.values()]).unique())
            else:
                counts = sum(
                    (df.loc[live].notna().sum(axis=1) for df in t.wide.values() if df.shape[1]),
                    pd.Series(0, index=live),
                )
                has = counts.index[counts.to_numpy() > 0]
            empty = live.difference(has)
            if len(empty):
                for idx in empty:
                    first = self.cell_reasons.get((t.spec.key, idx))
                    t.meta.at[idx, "reject"] = (
                        f"every value of the row was rejected (first: {first})"
                        if first
                        else "no measurement values in this row (all NA)"
                    )

    # participants ---------------------------------------------------------------------------
    def _participants(self) -> pd.DataFrame:
        self.conflicts = []  # recomputed on every (re)write from the rows still live
        frames = [t.meta.loc[self._live(t)].assign(_file=t.spec.path) for t in self.tables]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=["participant_id", "age"])
        m = pd.concat(frames)
        out = pd.DataFrame({"age": m.groupby("subject", sort=True)["age"].min()})
        for col in ("sex", "race", *EXTRA_PARTICIPANT.values()):
            if col in m.columns and col not in self.dropped_participant_columns:
                out[col] = self._resolve(m, col)
        out["age"] = out["age"].map(lambda a: None if pd.isna(a) else f"{a:g}")
        return out.rename_axis("participant_id").reset_index()

    def _resolve(self, m: pd.DataFrame, col: str) -> pd.Series:
        """Per subject, the most frequent informative value; disagreements are recorded by file:line."""
        vocab = self.protocol.vocabulary(col) if col in ("sex", "race") else None
        uniq = m[col].dropna().unique()
        canon_of = {v: (vocab.canonical(v) or v) if vocab else v for v in uniq}
        d = pd.DataFrame({"subject": m["subject"].to_numpy(), "v": m[col].map(canon_of).to_numpy()})
        d = d[d["v"].notna()]
        d["inf"] = ~d["v"].isin(["unknown", "Unknown"])
        has_inf = d.groupby("subject")["inf"].transform("any")
        d = d[d["inf"] | ~has_inf]
        cnt = d.groupby(["subject", "v"]).size().reset_index(name="n")
        cnt = cnt.sort_values(["subject", "n", "v"], ascending=[True, False, True])
        choice = cnt.drop_duplicates("subject").set_index("subject")["v"]
        n_distinct = cnt.groupby("subject").size()
        for subject in n_distinct.index[n_distinct.to_numpy() > 1]:
            g = m[m["subject"] == subject]
            values = cnt[cnt["subject"] == subject].set_index("v")["n"].to_dict()
            self.conflicts.append(
                {
                    "site": self.site,
                    "field": col,
                    "values": values,
                    "chosen": choice[subject],
                    "rows": [f"{f}:{ln}" for f, ln in zip(g["_file"], g["line"], strict=True)][:6],
                    "rule": "most frequent informative value across this site's rows",
                }
            )
        return choice

    # writing -------------------------------------------------------------------------------
    def write(self, *, with_assays: bool = True) -> Path:
        """(Re)write the bundle folder from the live rows; return its path.

        ``with_assays=False`` writes participants and samples only (a cheap first pre-screen).
        """
        self._drop_empty_rows()
        f = self.folder
        f.mkdir(parents=True, exist_ok=True)
        for old in f.glob("*.csv"):
            old.unlink()
        mp = _Map()
        parts = self._participants()
        parts.to_csv(f / PARTICIPANTS, index=False)
        mp.participants = parts["participant_id"].tolist()
        ages = pd.to_numeric(parts["age"], errors="coerce") if "age" in parts.columns else []
        enrol = dict(zip(mp.participants, ages, strict=False))
        samples: dict[str, list[tuple[SourceRows, object]]] = {}
        sample_rows: list[dict[str, object]] = []
        assays_out: list[dict[str, object]] = []
        for t in self.tables:
            live = self._live(t)
            if not len(live):
                continue
            m = t.meta.loc[live]
            sid = _sample_ids(t, m)
            day = (
                ((m["age"] - m["subject"].map(enrol)) * 365.25)
                .round()
                .fillna(0)
                .astype(int)
                .clip(lower=0)
            )
            stype = self.protocol.assay(t.spec.assays[0]).sample_type
            for idx, s, subj, d in zip(live, sid, m["subject"], day, strict=True):
                if s not in samples:
                    samples[s] = []
                    sample_rows.append(
                        {
                            "sample_id": s,
                            "participant_id": subj,
                            "day": int(d),
                            "sample_type": stype,
                        }
                    )
                samples[s].append((t, idx))
            if with_assays:
                assays_out += self._write_assays(t, live, sid, mp)
        pd.DataFrame(
            sample_rows, columns=["sample_id", "participant_id", "day", "sample_type"]
        ).to_csv(f / SAMPLES, index=False)
        mp.samples = [samples[r["sample_id"]] for r in sample_rows]
        manifest = {
            "format": "immunome-bundle/1",
            "site": self.site,
            "protocol": self.protocol.id,
            "protocol_version": self.protocol.version,
            "description": f"10,000 Immunomes Project, ImmPort study {self.site} (imported by immunome)",
            "participants": PARTICIPANTS,
            "samples": SAMPLES,
            "assays": assays_out,
        }
        (f / "manifest.yaml").write_text(
            yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8"
        )
        self._map = mp
        return f

    def _write_assays(
        self, t: SourceRows, live: pd.Index, sid: pd.Series, mp: _Map
    ) -> list[dict[str, object]]:
        out_entries: list[dict[str, object]] = []
        for assay_id, df in t.wide.items():
            block = df.loc[live]
            block = block.loc[:, block.notna().any(axis=0).to_numpy()]
            block = block.loc[block.notna().any(axis=1).to_numpy()]
            if block.empty:
                continue
            name = f"{t.spec.key}__{assay_id}.csv"
            out = block.copy()
            out.insert(0, "sample_id", sid.loc[block.index].to_numpy())
            out.to_csv(self.folder / name, index=False)
            mp.wide[name] = (t, assay_id, list(block.index), list(block.columns))
            out_entries.append({"file": name, "assay": assay_id, "layout": "wide"})
        for assay_id, df in t.long.items():
            ent = df[df["row"].isin(live)].reset_index(drop=True)
            if ent.empty:
                continue
            name = f"{t.spec.key}__{assay_id}.csv"
            out = pd.DataFrame(
                {
                    "sample_id": sid.loc[ent["row"]].to_numpy(),
                    "feature": ent["feature"],
                    "value": ent["value"].map(lambda v: f"{v:g}"),
                }
            )
            out.to_csv(self.folder / name, index=False)
            mp.long[name] = (t, assay_id, ent)
            out_entries.append({"file": name, "assay": assay_id, "layout": "long"})
        return out_entries

    # pre-screen ----------------------------------------------------------------------------
    def prescreen(self, submit: Callable[[Path], Any] | None = None) -> Any:
        """Validate, move every rejected row/cell to the report, rebuild — until the bundle is clean.

        With ``submit`` (e.g. ``store.submit``) each full round *is* the submission: a
        :class:`~immunome.errors.ValidationFailed` carries the validator's report, whose errors
        are moved out before the next try; the return value is ``submit``'s result. Without
        ``submit`` the bundle is validated and the clean folder returned. When participants or
        samples fail, they are re-screened first without the assay tables (cheap rounds).
        """
        for _ in range(MAX_ROUNDS):
            report = self._round(with_assays=True, submit=submit)
            if not isinstance(report, ValidationReport):
                return report
            if report.ok:
                return self.folder
            self._move_out(report)
            if any(i.file in (PARTICIPANTS, SAMPLES) for i in report.errors):
                self._screen_people()
        raise DatasetError(
            f"site {self.site}: bundle still invalid after {MAX_ROUNDS} pre-screen rounds"
        )

    def _screen_people(self) -> None:
        for _ in range(MAX_ROUNDS):
            report = self._round(with_assays=False, submit=None)
            if report.ok:
                return
            self._move_out(report)
        raise DatasetError(
            f"site {self.site}: participants still invalid after {MAX_ROUNDS} rounds"
        )

    def _round(self, *, with_assays: bool, submit: Callable[[Path], Any] | None) -> Any:
        """Write and validate (or submit) once; a ValidationReport, or ``submit``'s result."""
        self.rounds += 1
        self.write(with_assays=with_assays)
        if not self._map.participants:
            raise EmptySite(f"site {self.site}: every row was rejected; nothing to submit")
        if with_assays and submit is not None:
            try:
                return submit(self.folder)
            except ValidationFailed as e:
                return e.report
        report = validate_bundle(self.folder, protocol=self.protocol)
        if report.ok and with_assays:
            self.warnings = Counter(i.rule for i in report.warnings)
        return report

    def _move_out(self, report: ValidationReport) -> None:
        if not self._apply_all(report.errors):
            shown = "; ".join(i.to_text() for i in report.errors[:5])
            raise DatasetError(
                f"site {self.site}: validator errors the importer cannot map back: {shown}"
            )

    def _apply_all(self, issues: list[Issue]) -> bool:
        """Move the rows/cells named by validator errors to the report; True if anything moved."""
        mp = self._map
        moved = False
        bad_subjects: dict[str, str] = {}
        for issue in issues:
            reason = _reason(issue)
            if issue.line is None and issue.message.startswith("…"):
                continue  # capped summary: the next round lists them
            if issue.file == PARTICIPANTS and issue.line is not None and issue.line >= 2:
                bad_subjects.setdefault(
                    mp.participants[issue.line - 2],
                    f"participant rejected: {issue.column}: {reason}",
                )
            elif issue.file == PARTICIPANTS and issue.column and issue.column != "participant_id":
                self.dropped_participant_columns.add(issue.column)
                moved = True
            elif issue.file == SAMPLES and issue.line is not None and issue.line >= 2:
                for t, idx in mp.samples[issue.line - 2]:
                    t.reject([idx], f"sample rejected: {issue.column}: {reason}")
                moved = True
            elif issue.file in mp.wide:
                moved |= self._apply_wide(issue, reason)
            elif issue.file in mp.long and issue.line is not None and issue.line >= 2:
                self._apply_long(issue, reason)
                moved = True
        if bad_subjects:
            for t in self.tables:
                hit = t.meta["subject"].isin(list(bad_subjects)).to_numpy()
                for subject, g in t.meta.loc[hit].groupby("subject"):
                    t.reject(g.index, bad_subjects[subject])
            moved = True
        return moved

    def _apply_long(self, issue: Issue, reason: str) -> None:
        t, assay_id, ent = self._map.long[issue.file]
        row, feat = ent.iloc[issue.line - 2][["row", "feature"]]
        df = t.long[assay_id]
        t.long[assay_id] = df[~((df["row"] == row) & (df["feature"] == feat))]
        t.report.reject_cell(int(t.meta.at[row, "line"]), str(feat), reason, site=self.site)
        self.cell_reasons.setdefault((t.spec.key, row), reason)

    def _apply_wide(self, issue: Issue, reason: str) -> bool:
        t, assay_id, rows, cols = self._map.wide[issue.file]
        df = t.wide[assay_id]
        col = issue.column
        src = t.source_column.get((assay_id, col), col)
        if issue.line is None or issue.line < 2:  # a whole column
            if col not in df.columns:
                return False
            hit = df.index[df[col].notna().to_numpy() & df.index.isin(rows)]
            for idx in hit:
                t.report.reject_cell(int(t.meta.at[idx, "line"]), src, reason, site=self.site)
                self.cell_reasons.setdefault((t.spec.key, idx), reason)
            df.loc[hit, col] = None
            return True
        idx = rows[issue.line - 2]
        if col in df.columns:
            t.report.reject_cell(int(t.meta.at[idx, "line"]), src, reason, site=self.site)
            self.cell_reasons.setdefault((t.spec.key, idx), reason)
            df.at[idx, col] = None
        else:
            t.reject([idx], f"row rejected: {reason}")
        return True


def _reason(issue: Issue) -> str:
    """The validator's message without the bundle-internal location: ``[rule] message (allowed: …)``."""
    text = issue.to_text()
    cut = text.find(": [") if issue.severity == "error" else text.find(": warning: [")
    return text[cut + 2 :] if cut >= 0 else text


def _sample_ids(t: SourceRows, m: pd.DataFrame) -> pd.Series:
    """Raw (pre-pseudonymisation) sample ids: ``<subject>-<table>-<k>`` in file order."""
    if t.spec.layout == "hla":
        return m["subject"].astype(str) + f"-{t.spec.key}-1"
    k = t.meta.groupby(["site", "subject"], sort=False).cumcount() + 1
    return m["subject"].astype(str) + f"-{t.spec.key}-" + k.loc[m.index].astype(str)
