"""Build one submission bundle per site from 10KIP source rows, and pre-screen it.

Pre-screening runs the very validator that :meth:`Store.submit` runs
(:func:`immunome.submission.validate_bundle`) and maps every error back to its source
``file:line`` — a bad cell is dropped (the rest of the row may land), a bad sample or participant
drops its rows — then rebuilds the bundle until the validator accepts it. The clean bundle then
goes through ``store.submit`` like any site's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from immunome.datasets._tenkip_rows import EXTRA_PARTICIPANT, SourceRows
from immunome.errors import DatasetError
from immunome.protocol import Protocol
from immunome.submission import Issue, validate_bundle

MAX_ROUNDS = 40
PARTICIPANTS, SAMPLES = "participants.csv", "samples.csv"


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
    conflicts: list[dict[str, object]] = field(default_factory=list)
    _map: _Map = field(default_factory=_Map)

    # rows of this site ----------------------------------------------------------------------
    def _live(self, t: SourceRows) -> pd.Index:
        m = t.meta
        return m.index[(m["site"] == self.site).to_numpy() & m["reject"].isna().to_numpy()]

    def _drop_empty_rows(self) -> None:
        for t in self.tables:
            live = self._live(t)
            if t.long:
                has = pd.Index(
                    t.meta.index[np.unique(np.concatenate([df["row"].to_numpy() for df in t.long.values()]))]
                ) if any(len(df) for df in t.long.values()) else pd.Index([])
            else:
                counts = sum((df.loc[live].notna().sum(axis=1) for df in t.wide.values() if df.shape[1]),
                             pd.Series(0, index=live))
                has = counts.index[counts.to_numpy() > 0]
            empty = live.difference(has)
            if len(empty):
                rejected = t.report.rejected_cells
                why = {r.line: r.reason for r in rejected}
                for idx in empty:
                    line = int(t.meta.at[idx, "line"])
                    t.meta.at[idx, "reject"] = (
                        f"every value of the row was rejected (first: {why[line]})" if line in why
                        else "no measurement values in this row (all NA)"
                    )

    # participants ---------------------------------------------------------------------------
    def _participants(self) -> pd.DataFrame:
        frames = [t.meta.loc[self._live(t)].assign(_file=t.spec.path) for t in self.tables]
        m = pd.concat(frames) if frames else pd.DataFrame()
        rows = []
        for subject, g in m.groupby("subject", sort=True):
            row: dict[str, object] = {"participant_id": subject}
            ages = g["age"].dropna()
            row["age"] = float(ages.min()) if len(ages) else None
            for col, dst in (("sex", "sex"), ("race", "race"), *[(c, c) for c in EXTRA_PARTICIPANT.values()]):
                if col not in g.columns or dst in self.dropped_participant_columns:
                    continue
                row[dst] = self._resolve(g, col, subject)
            rows.append(row)
        out = pd.DataFrame(rows)
        if "age" in out.columns:
            out["age"] = out["age"].map(lambda a: None if a is None or pd.isna(a) else f"{a:g}")
        return out

    def _resolve(self, g: pd.DataFrame, col: str, subject: str) -> object:
        """Most frequent informative value; disagreements are recorded (by file:line only)."""
        vals = g[col].dropna()
        vocab = self.protocol.vocabulary(col) if col in ("sex", "race") else None
        canon = vals.map(lambda v: vocab.canonical(v) if vocab else v)
        informative = vals[~canon.isin(["unknown", "Unknown"]) & canon.notna()]
        pick_from = informative if len(informative) else vals
        if pick_from.empty:
            return None
        counts = pick_from.map(lambda v: vocab.canonical(v) or v if vocab else v).value_counts()
        choice = counts.index[0]
        if len(counts) > 1:
            where = [f"{f}:{ln}" for f, ln in zip(g["_file"], g["line"], strict=True)][:6]
            self.conflicts.append({"site": self.site, "field": col, "values": counts.to_dict(),
                                   "chosen": choice, "rows": where,
                                   "rule": "most frequent informative value across this site's rows"})
        return choice

    # writing -------------------------------------------------------------------------------
    def write(self) -> Path:
        """(Re)write the bundle folder from the live rows; return its path."""
        self._drop_empty_rows()
        f = self.folder
        f.mkdir(parents=True, exist_ok=True)
        for old in f.glob("*.csv"):
            old.unlink()
        mp = _Map()
        parts = self._participants()
        if not parts.empty:
            parts = parts.drop(columns=[c for c in self.dropped_participant_columns if c in parts.columns])
        parts.to_csv(f / PARTICIPANTS, index=False)
        mp.participants = parts["participant_id"].tolist() if not parts.empty else []
        enrol = dict(zip(mp.participants, pd.to_numeric(parts.get("age"), errors="coerce"), strict=False))
        samples: dict[str, list[tuple[SourceRows, object]]] = {}
        sample_rows: list[dict[str, object]] = []
        assays_out: list[dict[str, object]] = []
        for t in self.tables:
            live = self._live(t)
            if not len(live):
                continue
            m = t.meta.loc[live]
            sid = _sample_ids(t, m)
            age0 = m["subject"].map(enrol)
            day = ((m["age"] - age0) * 365.25).round().fillna(0).astype(int).clip(lower=0)
            stype = self.protocol.assay(t.spec.assays[0]).sample_type
            for idx, s, subj, d in zip(live, sid, m["subject"], day, strict=True):
                if s not in samples:
                    samples[s] = []
                    sample_rows.append({"sample_id": s, "participant_id": subj, "day": int(d), "sample_type": stype})
                samples[s].append((t, idx))
            for assay_id, df in t.wide.items():
                block = df.loc[live]
                block = block.loc[:, block.notna().any(axis=0).to_numpy()]
                block = block.loc[block.notna().any(axis=1).to_numpy()]
                if block.empty:
                    continue
                name = f"{t.spec.key}__{assay_id}.csv"
                out = block.copy()
                out.insert(0, "sample_id", sid.loc[block.index].to_numpy())
                out.to_csv(f / name, index=False)
                mp.wide[name] = (t, assay_id, list(block.index), list(block.columns))
                assays_out.append({"file": name, "assay": assay_id, "layout": "wide"})
            for assay_id, df in t.long.items():
                pos = t.meta.index.get_indexer(live)
                ent = df[df["row"].isin(pos)].reset_index(drop=True)
                if ent.empty:
                    continue
                name = f"{t.spec.key}__{assay_id}.csv"
                row_sid = pd.Series(sid.to_numpy(), index=pos)
                out = pd.DataFrame({"sample_id": row_sid.loc[ent["row"]].to_numpy(),
                                    "feature": ent["feature"], "value": ent["value"].map(lambda v: f"{v:g}")})
                out.to_csv(f / name, index=False)
                mp.long[name] = (t, assay_id, ent)
                assays_out.append({"file": name, "assay": assay_id, "layout": "long"})
        pd.DataFrame(sample_rows, columns=["sample_id", "participant_id", "day", "sample_type"]).to_csv(
            f / SAMPLES, index=False)
        mp.samples = [samples[r["sample_id"]] for r in sample_rows]
        manifest = {"format": "immunome-bundle/1", "site": self.site, "protocol": self.protocol.id,
                    "protocol_version": self.protocol.version,
                    "description": "10,000 Immunomes Project (ImmPort study " + self.site + "), imported by immunome",
                    "participants": PARTICIPANTS, "samples": SAMPLES, "assays": assays_out}
        (f / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
        self._map = mp
        return f

    # pre-screen ----------------------------------------------------------------------------
    def prescreen(self) -> Path:
        """Validate, move every rejected row/cell to the report, rebuild; until the bundle is clean."""
        for rnd in range(1, MAX_ROUNDS + 1):
            self.rounds = rnd
            self.write()
            report = validate_bundle(self.folder, protocol=self.protocol)
            if report.ok:
                self.warnings = Counter(i.rule for i in report.warnings)
                return self.folder
            progress = sum(self._apply(i) for i in report.errors)
            if not progress:
                shown = "; ".join(i.to_text() for i in report.errors[:5])
                raise DatasetError(f"site {self.site}: validator errors the importer cannot map back: {shown}")
        raise DatasetError(f"site {self.site}: bundle still invalid after {MAX_ROUNDS} pre-screen rounds")

    def _apply(self, issue: Issue) -> bool:
        """Move the rows/cells named by one validator error to the report; True if anything moved."""
        mp, text = self._map, issue.to_text()
        if issue.line is None and issue.message.startswith("…"):
            return False  # capped summary: the next round lists them
        if issue.file == PARTICIPANTS:
            if issue.line is None or issue.line < 2:
                if issue.column and issue.column != "participant_id":
                    self.dropped_participant_columns.add(issue.column)
                    return True
                return False
            subject = mp.participants[issue.line - 2]
            for t in self.tables:
                rows = np.flatnonzero(((t.meta["site"] == self.site) & (t.meta["subject"] == subject)).to_numpy())
                t.reject(rows, f"participant rejected: {text}")
            return True
        if issue.file == SAMPLES and issue.line and issue.line >= 2:
            for t, idx in mp.samples[issue.line - 2]:
                t.reject([t.meta.index.get_loc(idx)], f"sample rejected: {text}")
            return True
        if issue.file in mp.wide:
            return self._apply_wide(issue, text)
        if issue.file in mp.long and issue.line and issue.line >= 2:
            t, assay_id, ent = mp.long[issue.file]
            row, feat = ent.iloc[issue.line - 2][["row", "feature"]]
            df = t.long[assay_id]
            t.long[assay_id] = df[~((df["row"] == row) & (df["feature"] == feat))]
            t.report.reject_cell(int(t.meta.iloc[int(row)]["line"]), str(feat), text, site=self.site)
            return True
        return False

    def _apply_wide(self, issue: Issue, text: str) -> bool:
        t, assay_id, rows, cols = self._map.wide[issue.file]
        df = t.wide[assay_id]
        col = issue.column
        src = lambda c: t.source_column.get((assay_id, c), c)  # noqa: E731
        if issue.line is None or issue.line < 2:  # a whole column
            if col not in df.columns:
                return False
            for idx in df.index[df[col].notna().to_numpy() & df.index.isin(rows)]:
                t.report.reject_cell(int(t.meta.at[idx, "line"]), src(col), text, site=self.site)
            df.loc[df.index.isin(rows), col] = None
            return True
        idx = rows[issue.line - 2]
        if col in df.columns:
            t.report.reject_cell(int(t.meta.at[idx, "line"]), src(col), text, site=self.site)
            df.at[idx, col] = None
        else:
            t.reject([t.meta.index.get_loc(idx)], f"row rejected: {text}")
        return True


def _sample_ids(t: SourceRows, m: pd.DataFrame) -> pd.Series:
    """Raw (pre-pseudonymisation) sample ids: ``<subject>-<table>-<k>`` in file order."""
    if t.spec.layout == "hla":
        return m["subject"].astype(str) + f"-{t.spec.key}-1"
    k = t.meta.groupby(["site", "subject"], sort=False).cumcount() + 1
    return m["subject"].astype(str) + f"-{t.spec.key}-" + k.loc[m.index].astype(str)
