"""Metrics: MAE, Pearson r, Spearman ρ, interval coverage, and per-subgroup tables (n < 5 suppressed).

Example:
    >>> import numpy as np
    >>> regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))["mae"]
    0.3333
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

MIN_GROUP_N = 5


def _r(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson r (None when undefined)."""
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return _r(np.corrcoef(a, b)[0, 1])


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman ρ (None when undefined)."""
    if len(a) < 3:
        return None
    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    return pearson(ra, rb)


def regression_metrics(
    y: np.ndarray,
    pred: np.ndarray,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> dict[str, Any]:
    """n, MAE, Pearson r, Spearman ρ, bias, and interval coverage/width if bounds are given."""
    ok = np.isfinite(pred) & np.isfinite(y)
    y, pred = y[ok], pred[ok]
    out: dict[str, Any] = {
        "n": int(len(y)),
        "mae": _r(np.mean(np.abs(pred - y))) if len(y) else None,
        "r": pearson(y, pred),
        "spearman": spearman(y, pred),
        "bias": _r(np.mean(pred - y)) if len(y) else None,
    }
    if lower is not None and upper is not None:
        lo, hi = lower[ok], upper[ok]
        out["coverage"] = _r(np.mean((y >= lo) & (y <= hi))) if len(y) else None
        out["interval_width"] = _r(np.mean(hi - lo)) if len(y) else None
    return out


def subgroup_metrics(
    y: np.ndarray,
    pred: np.ndarray,
    groups: dict[str, np.ndarray],
    *,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    min_n: int = MIN_GROUP_N,
) -> list[dict[str, Any]]:
    """Metrics per level of each grouping variable; levels with ``n < min_n`` are suppressed."""
    rows = []
    for var, values in groups.items():
        v = pd.Series(values).astype("string").fillna("unknown").to_numpy()
        for level in sorted(set(v.tolist())):
            m = v == level
            n = int(m.sum())
            if n < min_n:
                rows.append({"variable": var, "level": level, "n": None, "suppressed": True})
                continue
            lo = lower[m] if lower is not None else None
            hi = upper[m] if upper is not None else None
            rows.append(
                {
                    "variable": var,
                    "level": level,
                    "suppressed": False,
                    **regression_metrics(y[m], pred[m], lo, hi),
                }
            )
    return rows


def age_band(age: np.ndarray) -> np.ndarray:
    """Age bands used for subgroup reporting."""
    edges = [0, 18, 40, 60, 75, 200]
    labels = ["<18", "18-39", "40-59", "60-74", "75+"]
    return (
        pd.cut(pd.Series(age), edges, right=False, labels=labels)
        .astype("string")
        .fillna("unknown")
        .to_numpy()
    )


def gap_association(
    gap: np.ndarray, age: np.ndarray, groups: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Association of the age gap (and the age-adjusted gap) with each grouping variable.

    Two groups → Mann–Whitney U; more → Kruskal–Wallis. Levels with n < 5 are left out.
    """
    from scipy import stats

    slope, icpt = np.polyfit(age, gap, 1)
    adjusted = gap - (icpt + slope * age)
    out: dict[str, Any] = {"gap_vs_age_slope": _r(slope)}
    for var, values in groups.items():
        v = pd.Series(values).astype("string").fillna("unknown").to_numpy()
        levels = [lv for lv in sorted(set(v.tolist())) if (v == lv).sum() >= MIN_GROUP_N]
        entry: dict[str, Any] = {"levels": {}}
        for name, g in (("gap", gap), ("adjusted_gap", adjusted)):
            samples = [g[v == lv] for lv in levels]
            for lv, s in zip(levels, samples, strict=True):
                entry["levels"].setdefault(lv, {"n": int(len(s))})[f"mean_{name}"] = _r(np.mean(s))
            if len(samples) == 2:
                entry[f"{name}_test"], p = "mann-whitney", stats.mannwhitneyu(*samples).pvalue
            elif len(samples) > 2:
                entry[f"{name}_test"], p = "kruskal-wallis", stats.kruskal(*samples).pvalue
            else:
                p = None
            entry[f"{name}_p"] = None if p is None else float(f"{p:.3g}")
        out[var] = entry
    return out
