"""Batch-effect metrics: variance explained by site vs biology, PCA silhouette, LOSO age MAE.

All metrics work on the correction scale (logit/log/linear, see ``_scales``) of a samples ×
features DataFrame with a ``site`` Series and a protected-covariate DataFrame aligned with it.

* ``site``: partial R² of site given the covariates, ``(RSS(cov) - RSS(cov + site)) / TSS``
  — the share of a feature's variance that only site explains (age/sex in the model).
* ``biology``: R² of ``feature ~ age + sex`` (no site term) — what the protected covariates
  explain; ``biology_given_site`` is their partial R² with site in the model.

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> site = pd.Series(["A"] * 30 + ["B"] * 30)
    >>> cov = pd.DataFrame({"age": rng.uniform(20, 80, 60)})
    >>> X = pd.DataFrame({"f": rng.normal(size=60) + (site == "B") * 2.0})
    >>> round(float(variance_explained(X, site, cov)["site"].iloc[0]), 1)
    0.4
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.linear_model import RidgeCV
from sklearn.metrics import silhouette_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from immunome.harmonize._design import CovariateEncoder


def variance_explained(
    Z: pd.DataFrame, site: pd.Series, covariates: pd.DataFrame, *, min_n: int = 10
) -> pd.DataFrame:
    """Per-feature variance explained by site (given covariates) and by covariates.

    Returns columns ``site``, ``biology``, ``biology_given_site``, ``n``, ``n_sites`` (index =
    features). Features with fewer than ``min_n`` usable rows or one site get NaN.

    Example:
        >>> Z = pd.DataFrame({"f": [1.0, 2, 3, 4, 5, 6]})
        >>> variance_explained(Z, pd.Series(list("AAABBB")), pd.DataFrame(index=range(6)),
        ...                    min_n=2)["site"].round(2).tolist()
        [0.77]
    """
    enc = CovariateEncoder.fit(covariates)
    miss = enc.missing(covariates).to_numpy()
    C = np.full((len(Z), len(enc.columns)), np.nan)
    if (~miss).any():
        C[~miss] = enc.transform(covariates[~miss])
    s_arr = site.astype(str).to_numpy()
    rows = []
    for feat in Z.columns:
        y = Z[feat].to_numpy(float)
        ok = np.isfinite(y) & ~miss
        rows.append(_ve_one(y[ok], s_arr[ok], C[ok], min_n))
    return pd.DataFrame(
        rows, index=Z.columns, columns=["site", "biology", "biology_given_site", "n", "n_sites"]
    )


def _rss(D: np.ndarray, y: np.ndarray) -> float:
    coef, *_ = np.linalg.lstsq(D, y, rcond=None)
    r = y - D @ coef
    return float(r @ r)


def _ve_one(y: np.ndarray, s: np.ndarray, C: np.ndarray, min_n: int) -> list[float]:
    sites = sorted(set(s))
    n = len(y)
    if n < min_n or len(sites) < 2:
        return [np.nan, np.nan, np.nan, n, len(sites)]
    tss = float(((y - y.mean()) ** 2).sum())
    if tss <= 0:
        return [np.nan, np.nan, np.nan, n, len(sites)]
    one = np.ones((n, 1))
    B = np.column_stack([(s == x).astype(float) for x in sites[1:]])
    rss_cov = _rss(np.hstack([one, C]), y)
    rss_site = _rss(np.hstack([one, B]), y)
    rss_full = _rss(np.hstack([one, C, B]), y)
    return [
        max(0.0, (rss_cov - rss_full) / tss),
        max(0.0, 1 - rss_cov / tss),
        max(0.0, (rss_site - rss_full) / tss),
        n,
        len(sites),
    ]


def _complete_matrix(Z: pd.DataFrame, max_missing: float = 0.5) -> pd.DataFrame:
    keep = Z.columns[Z.isna().mean() <= max_missing]
    M = Z[keep]
    M = M.loc[:, M.std() > 0]
    return M.fillna(M.median())


def pca_silhouette(Z: pd.DataFrame, site: pd.Series, *, n_components: int = 10) -> float:
    """Silhouette of site labels in standardised PCA space (≈0: sites mixed; →1: separated).

    Features more than half missing are dropped; remaining gaps get the feature median.

    Example:
        >>> Z = pd.DataFrame({"a": [0.0, 0.1, 5.0, 5.1], "b": [1.0, 1.1, 3.0, 3.1]})
        >>> pca_silhouette(Z, pd.Series(list("AABB"))) > 0.5
        True
    """
    M = _complete_matrix(Z)
    labels = site.astype(str).to_numpy()
    if M.shape[1] == 0 or len(set(labels)) < 2 or len(set(labels)) >= len(labels):
        return float("nan")
    X = StandardScaler().fit_transform(M.to_numpy())
    k = max(1, min(n_components, X.shape[1], X.shape[0] - 1))
    pcs = PCA(n_components=k, random_state=0).fit_transform(X)
    return float(silhouette_score(pcs, labels))


def pca_coordinates(Z: pd.DataFrame, *, n_components: int = 2) -> pd.DataFrame:
    """First principal components of the standardised matrix (for plots).

    Example:
        >>> pca_coordinates(pd.DataFrame({"a": [0.0, 1, 2], "b": [1.0, 0, 2]})).shape
        (3, 2)
    """
    M = _complete_matrix(Z)
    X = StandardScaler().fit_transform(M.to_numpy())
    k = min(n_components, X.shape[1])
    pcs = PCA(n_components=k, random_state=0).fit_transform(X)
    return pd.DataFrame(pcs, index=Z.index, columns=[f"PC{i + 1}" for i in range(k)])


def loso_age_mae(
    Z: pd.DataFrame, site: pd.Series, age: pd.Series, *, min_site_size: int = 3
) -> dict[str, float]:
    """Leave-one-site-out mean absolute error of a ridge age model (features → age).

    Each site with ≥ ``min_site_size`` samples is predicted by a ``RidgeCV`` trained on the
    others; returns ``{"mae": overall, "<site>": per-site MAE}``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> age = pd.Series(rng.uniform(20, 80, 60))
        >>> Z = pd.DataFrame({"a": age / 10 + rng.normal(size=60), "b": rng.normal(size=60)})
        >>> loso_age_mae(Z, pd.Series(list("ABC") * 20), age)["mae"] < 15
        True
    """
    M = _complete_matrix(Z)
    ok = age.notna().to_numpy()
    M, s_arr, a = M[ok], site.astype(str).to_numpy()[ok], age.to_numpy(float)[ok]
    counts = pd.Series(s_arr).value_counts()
    sites = sorted(counts.index[counts >= min_site_size])
    errs: dict[str, float] = {}
    all_err: list[np.ndarray] = []
    alphas = np.logspace(-2, 4, 13)
    for s in sites:
        test = s_arr == s
        train = ~test & np.isin(s_arr, sites)
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas))
        model.fit(M.to_numpy()[train], a[train])
        e = np.abs(model.predict(M.to_numpy()[test]) - a[test])
        errs[s] = float(e.mean())
        all_err.append(e)
    errs = {"mae": float(np.concatenate(all_err).mean()) if all_err else float("nan"), **errs}
    return errs
