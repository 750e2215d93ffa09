"""Generated multi-site matrices for harmonisation unit tests (linear scale, known effects)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from harmonize_frame import Frame


def make_sites(
    *,
    n_per_site: dict[str, int] | None = None,
    n_features: int = 6,
    seed: int = 0,
    age_ranges: dict[str, tuple[float, float]] | None = None,
    age_effect: float = 0.03,
    shift: dict[str, float] | None = None,
    scale: dict[str, float] | None = None,
) -> Frame:
    """Generated multi-site data on the linear scale with known site shifts/scales and a linear
    age effect on every feature.

    Example: ``make_sites(n_per_site={"A": 30, "B": 30}, shift={"B": 2.0})``.
    """
    rng = np.random.default_rng(seed)
    n_per_site = n_per_site or {"A": 40, "B": 40, "C": 40}
    shift = shift or {}
    scale = scale or {}
    age_ranges = age_ranges or {}
    rows, sites, ages, sexes = [], [], [], []
    base = rng.normal(0, 1, n_features)
    for s, n in n_per_site.items():
        lo, hi = age_ranges.get(s, (20.0, 80.0))
        age = rng.uniform(lo, hi, n)
        sex = rng.choice(["Female", "Male"], n)
        bio = base[None, :] + age_effect * (age[:, None] - 50) + 0.3 * (sex == "Male")[:, None]
        noise = rng.normal(0, 1, (n, n_features)) * scale.get(s, 1.0)
        rows.append(bio + noise + shift.get(s, 0.0) * np.linspace(0.5, 1.5, n_features))
        sites += [s] * n
        ages.append(age)
        sexes.append(sex)
    idx = pd.Index([f"s{i}" for i in range(len(sites))], name="sample_id")
    X = pd.DataFrame(np.vstack(rows), index=idx, columns=[f"f{j}" for j in range(n_features)])
    cov = pd.DataFrame({"age": np.concatenate(ages), "sex": np.concatenate(sexes)}, index=idx)
    site = pd.Series(sites, index=idx)
    return Frame(X, site, cov, pd.Series(idx, index=idx))
