"""Read a store's active tables and derive the release's feature catalogue and layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from immunome.protocol import Protocol, load_protocol
from immunome.store._schema import PARTICIPANT_COLUMNS, SAMPLE_COLUMNS

# release tables = store columns + the site; site extension fields (``extra``) stay in the store
PARTICIPANT_COLS = [
    "participant_id",
    "site",
    *(c for c in PARTICIPANT_COLUMNS if c not in ("participant_id", "extra")),
]
SAMPLE_COLS = [*SAMPLE_COLUMNS[:2], "site", *SAMPLE_COLUMNS[2:]]
FEATURE_COLS = [
    "assay",
    "feature",
    "label",
    "unit",
    "kind",
    "scale",
    "ontology",
    "population",
    "denominator",
    "markers",
    "declared",
]


@dataclass
class ActiveTables:
    participants: pd.DataFrame
    samples: pd.DataFrame
    measurements: pd.DataFrame
    qc: pd.DataFrame
    protocols: dict[tuple[str, int], Protocol]
    submission_ids: list[str]


def _cols(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    for c in cols:
        if c not in df.columns:
            df[c] = None
    return df[cols]


def read_active_tables(store: Any) -> ActiveTables:
    """Read rows of active submissions, sorted so that output bytes are deterministic."""
    with store.connect(read_only=True) as con:
        subs = con.execute(
            "SELECT submission_id, protocol, protocol_version FROM submissions "
            "WHERE status = 'active' ORDER BY submission_id"
        ).df()
        part = con.execute(
            "SELECT p.* FROM participants p JOIN submissions s USING (submission_id) "
            "WHERE s.status = 'active'"
        ).df()
        samp = con.execute(
            "SELECT x.* FROM samples x JOIN submissions s USING (submission_id) "
            "WHERE s.status = 'active'"
        ).df()
        meas = con.execute(
            "SELECT m.sample_id, m.assay, m.feature, m.value, m.unit FROM measurements m "
            "JOIN submissions s USING (submission_id) WHERE s.status = 'active' "
            "ORDER BY m.assay, m.sample_id, m.feature"
        ).df()
        qc = con.execute(
            "SELECT q.sample_id, q.assay, q.metric, q.value, q.flag FROM sample_qc q "
            "JOIN submissions s USING (submission_id) WHERE s.status = 'active' "
            "ORDER BY q.assay, q.sample_id, q.metric"
        ).df()
    protocols = {
        (r.protocol, int(r.protocol_version)): load_protocol(r.protocol, int(r.protocol_version))
        for r in subs.itertuples()
    }
    part = _cols(part, PARTICIPANT_COLS).sort_values("participant_id", kind="mergesort")
    samp = _cols(samp, SAMPLE_COLS).sort_values("sample_id", kind="mergesort")
    return ActiveTables(
        participants=part.reset_index(drop=True),
        samples=samp.reset_index(drop=True),
        measurements=meas,
        qc=qc,
        protocols=protocols,
        submission_ids=subs["submission_id"].tolist(),
    )


def _latest(protocols: dict[tuple[str, int], Protocol]) -> list[Protocol]:
    return [protocols[k] for k in sorted(protocols, key=lambda k: (k[0], -k[1]))]


def features_table(meas: pd.DataFrame, protocols: dict[tuple[str, int], Protocol]) -> pd.DataFrame:
    """One row per (assay, feature) present in the data, described by the newest protocol."""
    present = meas[["assay", "feature"]].drop_duplicates().sort_values(["assay", "feature"])
    units = meas.groupby(["assay", "feature"])["unit"].agg(
        lambda s: s.mode().iat[0] if len(s.mode()) else None
    )
    ordered = _latest(protocols)
    rows = []
    for assay_id, feat_id in present.itertuples(index=False):
        rows.append(_describe(ordered, assay_id, feat_id, units.get((assay_id, feat_id))))
    return pd.DataFrame(rows, columns=FEATURE_COLS)


def _describe(protocols: list[Protocol], assay_id: str, feat_id: str, unit: str | None) -> dict:
    for p in protocols:
        assay = next((a for a in p.assays if a.id == assay_id), None)
        if assay is None:
            continue
        f = assay.feature(feat_id)
        base = {"assay": assay_id, "feature": feat_id, "kind": assay.kind, "scale": assay.scale}
        if f is None:
            return base | {"label": feat_id, "unit": assay.default_unit or unit, "declared": False}
        markers = None
        if f.population:
            try:
                markers = p.population(f.population).markers
            except KeyError:
                markers = None
        return base | {
            "label": f.label,
            "unit": f.unit,
            "ontology": f.ontology,
            "population": f.population,
            "denominator": f.denominator,
            "markers": markers,
            "declared": True,
        }
    return {
        "assay": assay_id,
        "feature": feat_id,
        "label": feat_id,
        "unit": unit,
        "declared": False,
    }


def normalized_layer(
    meas: pd.DataFrame, features: pd.DataFrame, protocols: dict[tuple[str, int], Protocol]
) -> pd.DataFrame:
    """Convert each raw value to its feature's protocol unit (vectorised by unit pair)."""
    if meas.empty:
        return meas[["sample_id", "assay", "feature", "value"]].copy()
    target = features.set_index(["assay", "feature"])["unit"]
    df = meas.join(target.rename("target_unit"), on=["assay", "feature"])
    factors: dict[str, float] = {}
    dims: dict[str, str] = {}
    for p in _latest(protocols)[::-1]:
        for u in p.units:
            for sym in [u.symbol, *u.aliases]:
                factors[sym], dims[sym] = u.factor, u.dimension
    f_from = df["unit"].map(factors)
    f_to = df["target_unit"].map(factors)
    same_dim = df["unit"].map(dims) == df["target_unit"].map(dims)
    ratio = np.where(
        df["unit"] == df["target_unit"], 1.0, np.where(same_dim, f_from / f_to, np.nan)
    )
    out = df[["sample_id", "assay", "feature"]].copy()
    out["value"] = df["value"].to_numpy(dtype=float) * ratio
    return out
