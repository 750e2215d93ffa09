"""Aggregates a public caller may see: suppressed counts and feature distributions.

Every table is computed over participants (one row each), grouped by at most two of
``site``, ``sex``, ``age_band``, ``ancestry``, and passed through :func:`~._suppress.suppress`.
Feature statistics (n, mean, sd, quartiles) reuse the suppression pattern of the per-cell
participant counts, so a hidden cell's mean cannot be recovered from the margin either.

Example:
    >>> import pandas as pd
    >>> p = pd.DataFrame({"site": ["A"] * 6, "sex": ["female"] * 6, "age": [30.0] * 6, "race": ["Asian"] * 6})
    >>> counts(p, by=["site"])["rows"][0]["n"]
    6
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from immunome.api._suppress import K_MIN, suppress

DIMENSIONS = ("site", "sex", "age_band", "ancestry")
MAX_DIMS = 2
AGE_BANDS = [0, 18, 30, 40, 50, 60, 70, 80, 200]
AGE_LABELS = ["<18", "18-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+"]


def participant_frame(participants: pd.DataFrame) -> pd.DataFrame:
    """Participants with the four public dimensions as strings (missing → ``unknown``)."""
    p = participants
    out = pd.DataFrame(index=p.index)
    out["site"] = p["site"].astype("string") if "site" in p else "unknown"
    out["sex"] = p["sex"].astype("string") if "sex" in p else "unknown"
    race = p["race"] if "race" in p else pd.Series(pd.NA, index=p.index)
    out["ancestry"] = race.astype("string")
    age = (
        pd.to_numeric(p["age"], errors="coerce") if "age" in p else pd.Series(np.nan, index=p.index)
    )
    band = pd.cut(age, bins=AGE_BANDS, labels=AGE_LABELS, right=False).astype("string")
    out["age_band"] = band
    return out.fillna("unknown").astype(str)


def counts(participants: pd.DataFrame, *, by: list[str], k: int = K_MIN) -> dict[str, Any]:
    """Suppressed participant counts by ``by`` (0–2 dimensions)."""
    p = participant_frame(participants)
    if by:
        t = p.groupby(by, observed=True).size().rename("n").reset_index()
    else:
        t = pd.DataFrame({"n": [len(p)]})
    out = suppress(t, dims=list(by), k=k)
    return {
        "by": list(by),
        "k": k,
        "rows": _records(out),
        "suppressed": int(out["suppressed"].sum()),
    }


def distribution(
    participants: pd.DataFrame,
    values: pd.Series,
    *,
    by: list[str],
    k: int = K_MIN,
) -> dict[str, Any]:
    """Per-cell n, mean, sd and quartiles of ``values`` (indexed by participant_id)."""
    p = participant_frame(participants)
    v = pd.to_numeric(values, errors="coerce").dropna()
    d = p.join(v.rename("value"), how="inner")
    if by:
        n = d.groupby(by, observed=True).size().rename("n").reset_index()
    else:
        n = pd.DataFrame({"n": [len(d)]})
    pattern = suppress(n, dims=list(by), k=k)
    rows = []
    groups = dict(iter(d.groupby(by, observed=True))) if by else {(): d}
    for rec in pattern.to_dict(orient="records"):
        key = tuple(rec[b] for b in by)
        row = {b: rec[b] for b in by}
        row["suppressed"] = bool(rec["suppressed"])
        row["reason"] = rec["reason"]
        g = groups.get(key if len(key) != 1 else key[0], groups.get(key))
        if rec["suppressed"] or g is None or g.empty:
            row.update(
                n=None if rec["suppressed"] else 0,
                mean=None,
                sd=None,
                q25=None,
                median=None,
                q75=None,
            )
        else:
            x = g["value"].to_numpy(float)
            q25, med, q75 = np.quantile(x, [0.25, 0.5, 0.75])
            row.update(
                n=len(x),
                mean=float(x.mean()),
                sd=float(x.std(ddof=1)) if len(x) > 1 else None,
                q25=float(q25),
                median=float(med),
                q75=float(q75),
            )
        rows.append(row)
    return {"by": list(by), "k": k, "rows": rows, "suppressed": int(pattern["suppressed"].sum())}


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in df.to_dict(orient="records"):
        n = r.get("n")
        r["n"] = None if n is None or (isinstance(n, float) and np.isnan(n)) else int(n)
        out.append(r)
    return out


def participant_values(
    cohort: Any, *, assay: str, feature: str, layer: str, visit: str | None = None
) -> pd.Series:
    """One value per participant: at ``visit`` if given, else at each participant's first sample."""
    t = cohort.tidy(assay=assay, layer=layer)
    t = t[t["feature"] == feature].dropna(subset=["value"])
    s = cohort.samples
    cols = [c for c in ("participant_id", "day", "visit") if c in s.columns]
    t = t.join(s[cols], on="sample_id", how="inner")
    if visit is not None:
        t = t[t["visit"] == visit]
    sort = (
        ["participant_id", "day", "sample_id"]
        if "day" in t.columns
        else ["participant_id", "sample_id"]
    )
    t = t.sort_values(sort, kind="mergesort").drop_duplicates("participant_id", keep="first")
    return t.set_index("participant_id")["value"]


def public_datasheet(cohort: Any, *, k: int = K_MIN) -> dict[str, Any]:
    """The release datasheet with every count table suppressed and individual values removed."""
    p = cohort.participants
    total = len(p)
    out: dict[str, Any] = {
        "participants": total if total >= k else None,
        "samples": int(len(cohort.samples)) if total >= k else None,
        "sites": sorted(map(str, p["site"].dropna().unique())) if "site" in p else [],
        "k": k,
    }
    for dim in DIMENSIONS:
        out[f"by_{dim}"] = counts(p, by=[dim], k=k)["rows"]
    out["by_site_sex"] = counts(p, by=["site", "sex"], k=k)["rows"]
    out["coverage"] = _coverage(cohort, k=k)
    sheet = getattr(cohort, "datasheet", None) or {}
    out["missingness"] = [
        {key: m.get(key) for key in ("assay", "feature", "missing_fraction")}
        for m in sheet.get("missingness", [])
    ]
    return out


def _coverage(cohort: Any, *, k: int) -> list[dict[str, Any]]:
    frames = []
    for assay in cohort.assays:
        layer = "raw" if "raw" in cohort.layers else cohort.layers[0]
        ids = cohort.tidy(assay=assay, layer=layer)["sample_id"].unique()
        pids = cohort.samples.loc[cohort.samples.index.intersection(ids), "participant_id"].unique()
        sites = cohort.participants.loc[pids, "site"].astype(str)
        frames.append(
            sites.value_counts().rename("n").rename_axis("site").reset_index().assign(assay=assay)
        )
    if not frames:
        return []
    t = pd.concat(frames, ignore_index=True)
    return _records(suppress(t, dims=["assay", "site"], k=k))


def suppress_small_groups(obj: Any, *, k: int = K_MIN) -> Any:
    """Hide the statistics of any group with ``0 < n < k`` inside a nested dict (model cards).

    Example:
        >>> suppress_small_groups({"A": {"n": 3, "mae": 4.2}, "B": {"n": 40, "mae": 5.0}})
        {'A': {'n': None, 'mae': None, 'suppressed': True}, 'B': {'n': 40, 'mae': 5.0}}
    """
    if isinstance(obj, dict):
        n = obj.get("n")
        if isinstance(n, int | float) and not isinstance(n, bool) and 0 < n < k:
            return {
                key: (
                    None
                    if isinstance(v, int | float | list | dict) and not isinstance(v, bool)
                    else v
                )
                for key, v in obj.items()
            } | {"suppressed": True}
        return {key: suppress_small_groups(v, k=k) for key, v in obj.items()}
    if isinstance(obj, list):
        return [suppress_small_groups(v, k=k) for v in obj]
    return obj
