"""A release datasheet: who is in it, what was measured where, and what is missing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

AGE_BANDS = [0, 18, 30, 40, 50, 60, 70, 80, 200]
AGE_LABELS = ["<18", "18-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+"]


def age_band(age: pd.Series) -> pd.Series:
    """Bin ages into the datasheet's bands.

    Example:
        >>> age_band(pd.Series([5.0, 45.0, 90.0])).tolist()
        ['<18', '40-49', '80+']
    """
    out = pd.cut(age, bins=AGE_BANDS, labels=AGE_LABELS, right=False)
    return out.astype(object).where(out.notna(), "unknown")


def _counts(series: pd.Series) -> dict[str, int]:
    vc = series.fillna("unknown").astype(str).value_counts()
    return {str(k): int(v) for k, v in sorted(vc.items())}


def _ordered(counts: dict[str, int], order: list[str]) -> dict[str, int]:
    return {k: counts[k] for k in order if k in counts}


def _coverage(samples: pd.DataFrame, meas: pd.DataFrame) -> list[dict[str, Any]]:
    if meas.empty:
        return []
    m = (
        meas[["sample_id", "assay"]]
        .drop_duplicates()
        .merge(samples[["sample_id", "site", "participant_id"]], on="sample_id", how="left")
    )
    g = m.groupby(["assay", "site"]).agg(
        samples=("sample_id", "nunique"), participants=("participant_id", "nunique")
    )
    return [
        {"assay": a, "site": s, "samples": int(r.samples), "participants": int(r.participants)}
        for (a, s), r in g.sort_index().iterrows()
    ]


def _missingness(meas: pd.DataFrame, features: pd.DataFrame) -> list[dict[str, Any]]:
    if meas.empty:
        return []
    per_assay = meas.groupby("assay")["sample_id"].nunique()
    observed = meas.dropna(subset=["value"]).groupby(["assay", "feature"])["sample_id"].nunique()
    out = []
    for (assay, feature), _ in features.set_index(["assay", "feature"]).sort_index().iterrows():
        n = int(per_assay.get(assay, 0))
        if n == 0:
            continue
        k = int(observed.get((assay, feature), 0))
        out.append(
            {
                "assay": assay,
                "feature": feature,
                "samples": n,
                "observed": k,
                "missing_fraction": round(1 - k / n, 4),
            }
        )
    return out


def build_datasheet(
    participants: pd.DataFrame,
    samples: pd.DataFrame,
    raw: pd.DataFrame,
    features: pd.DataFrame,
) -> dict[str, Any]:
    """Compute the datasheet of a release from its tables (``raw`` is the long raw layer)."""
    p = participants.copy()
    p["age_band"] = age_band(p["age"]) if "age" in p else "unknown"
    return {
        "participants": int(len(p)),
        "samples": int(len(samples)),
        "measurements": int(raw["value"].notna().sum()) if not raw.empty else 0,
        "sites": sorted(map(str, p["site"].dropna().unique())) if "site" in p else [],
        "by_site": _counts(p["site"]),
        "by_sex": _counts(p["sex"]),
        "by_age_band": _ordered(_counts(p["age_band"]), [*AGE_LABELS, "unknown"]),
        "by_ancestry": _counts(p["race"]) if "race" in p else {},
        "by_site_sex": {
            str(site): _counts(g["sex"])
            for site, g in sorted(p.groupby("site"), key=lambda t: t[0])
        },
        "coverage": _coverage(samples, raw),
        "missingness": _missingness(raw, features),
        "age": {
            "median": float(np.nanmedian(p["age"])) if p["age"].notna().any() else None,
            "min": float(p["age"].min()) if p["age"].notna().any() else None,
            "max": float(p["age"].max()) if p["age"].notna().any() else None,
        },
    }


def _table(rows: list[list[Any]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(lines)


def datasheet_markdown(sheet: dict[str, Any]) -> str:
    """Render a datasheet as Markdown (the release id lives in ``manifest.json``)."""
    parts = [
        "# Release datasheet",
        "",
        f"{sheet['participants']} participants, {sheet['samples']} samples, "
        f"{sheet['measurements']} measurements from {len(sheet['sites'])} sites.",
        "",
    ]
    for key, title in [
        ("by_site", "Participants by site"),
        ("by_sex", "Participants by sex"),
        ("by_age_band", "Participants by age band"),
        ("by_ancestry", "Participants by ancestry (race)"),
    ]:
        parts += [f"## {title}", "", _table([[k, v] for k, v in sheet[key].items()], ["", "n"]), ""]
    cov = sheet["coverage"]
    parts += ["## Assay × site coverage (samples / participants)", ""]
    if cov:
        assays = sorted({c["assay"] for c in cov})
        sites = sheet["sites"]
        grid = {(c["assay"], c["site"]): f"{c['samples']}/{c['participants']}" for c in cov}
        rows = [[a] + [grid.get((a, s), "") for s in sites] for a in assays]
        parts.append(_table(rows, ["assay"] + sites))
    parts += ["", "## Missingness per feature", ""]
    rows = [
        [m["assay"], m["feature"], m["samples"], m["observed"], f"{m['missing_fraction']:.1%}"]
        for m in sheet["missingness"]
    ]
    parts.append(_table(rows, ["assay", "feature", "samples", "observed", "missing"]))
    return "\n".join(parts) + "\n"
