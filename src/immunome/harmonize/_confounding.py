"""Detect site × protected-covariate confounding and name the features it affects.

When a site covers only part of a covariate's range (a site of only children, or only elderly
donors), ComBat cannot tell the site effect from the biology by the data of that site alone: it
relies on the covariate effect estimated at *other* sites (linear in age, extrapolated). The
correction is then only as good as that model. We do not hide this:

* :func:`detect_confounding` scores every site × covariate: for a numeric covariate the AUC of
  "a sample of this site has a larger value than a sample of the other sites" (0.5 = same
  distribution; ≥ 0.9 or ≤ 0.1 = strongly confounded); for a categorical one, whether a level
  that is common at this site (≥ 20 % of its samples) is (almost) absent elsewhere (< 2 % of the
  other sites' samples) — then that level's effect cannot be told from the site's. A site of one
  sex is *not* confounded as long as that sex is also seen at other sites.
* :func:`affected_features` names, for each confounded site, the features where the protected
  covariates explain a large part of that site's mean difference (``|shift| ≥ threshold``
  pooled SDs): those are the features where a site-only correction would remove biology and
  where the protected correction depends on the extrapolated covariate model.

Example:
    >>> import pandas as pd
    >>> site = pd.Series(["kids"] * 5 + ["adults"] * 5)
    >>> cov = pd.DataFrame({"age": [8, 9, 10, 11, 12, 30, 40, 50, 60, 70]})
    >>> detect_confounding(site, cov).query("confounded").site.tolist()
    ['adults', 'kids']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from immunome.harmonize._combat import CombatModel, _design, _stand_mean
from immunome.harmonize._design import clean_categorical

COLUMNS = ["site", "covariate", "statistic", "value", "confounded", "detail"]


def detect_confounding(
    site: pd.Series,
    covariates: pd.DataFrame,
    *,
    auc_threshold: float = 0.9,
    rare_elsewhere: float = 0.02,
    min_level_share: float = 0.2,
    min_site_size: int = 3,
) -> pd.DataFrame:
    """Score every site × protected covariate; ``confounded`` marks strong confounding.

    Columns: ``site, covariate, statistic, value, confounded, detail``.

    Example:
        >>> cov = pd.DataFrame({"sex": ["F", "F", "F", "M", "M", "F"]})
        >>> t = detect_confounding(pd.Series(list("AAABBB")), cov)
        >>> t.loc[t.confounded, "site"].tolist()
        ['B']
    """
    s_arr = site.astype(str).to_numpy()
    rows: list[list] = []
    counts = pd.Series(s_arr).value_counts()
    if len(counts) < 2:  # one site: nothing to be confounded with
        return pd.DataFrame(rows, columns=COLUMNS).astype({"confounded": bool})
    for s in sorted(counts.index[counts >= min_site_size]):
        here = s_arr == s
        for cov in covariates.columns:
            col = covariates[cov]
            if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                rows.append(
                    _numeric(s, str(cov), col[here].dropna(), col[~here].dropna(), auc_threshold)
                )
            else:
                rows.append(_categorical(s, str(cov), col, here, rare_elsewhere, min_level_share))
    return pd.DataFrame(rows, columns=COLUMNS)


def _numeric(s: str, cov: str, a: pd.Series, b: pd.Series, thr: float) -> list:
    if len(a) == 0 or len(b) == 0:
        return [s, cov, "auc", np.nan, False, "no values to compare"]
    auc = float(mannwhitneyu(a, b).statistic / (len(a) * len(b)))
    strong = auc >= thr or auc <= 1 - thr
    detail = (
        f"{cov} at {s}: {a.min():.4g}–{a.max():.4g} (median {a.median():.4g}); other sites: "
        f"{b.min():.4g}–{b.max():.4g} (median {b.median():.4g}); AUC {auc:.2f}"
    )
    return [s, cov, "auc", auc, strong, detail]


def _categorical(
    s: str, cov: str, col: pd.Series, here: np.ndarray, rare: float, common: float
) -> list:
    vals = clean_categorical(col)
    local = vals[here].dropna().value_counts(normalize=True)
    other = vals[~here].dropna().value_counts(normalize=True)
    if local.empty or other.empty:
        return [s, cov, "level_elsewhere", np.nan, False, "no values to compare"]
    elsewhere = {lv: float(other.get(lv, 0.0)) for lv in local.index if local[lv] >= common}
    worst = min(elsewhere, key=elsewhere.get)
    strong = elsewhere[worst] < rare
    detail = (
        f"{cov} at {s}: '{worst}' is {local[worst]:.0%} of its samples and "
        f"{elsewhere[worst]:.0%} of the other sites' samples"
    )
    return [s, cov, "level_elsewhere", elsewhere[worst], strong, detail]


def confounding_vs_reference(
    model: CombatModel,
    site: pd.Series,
    covariates: pd.DataFrame,
    sites: list[str],
    *,
    auc_threshold: float = 0.9,
    rare_elsewhere: float = 0.02,
    min_level_share: float = 0.2,
) -> pd.DataFrame:
    """Score sites harmonised in frozen mode against the fitted samples' covariate summary
    (``model.covariate_reference``), with the same rules as :func:`detect_confounding`.

    Example:
        >>> from immunome.harmonize._combat import fit_combat
        >>> X = pd.DataFrame({"f": np.arange(8.0)}); s = pd.Series(list("AAAABBBB"))
        >>> cov = pd.DataFrame({"age": [30.0, 40, 50, 60, 35, 45, 55, 65]})
        >>> m = fit_combat(X, s, cov)
        >>> kids = pd.DataFrame({"age": [8.0, 9, 10]})
        >>> t = confounding_vs_reference(m, pd.Series(["K"] * 3), kids, ["K"])
        >>> t.confounded.tolist()
        [True]
    """
    s_arr = site.astype(str).to_numpy()
    rows: list[list] = []
    for s in sites:
        here = s_arr == s
        for cov, ref in model.covariate_reference.items():
            if cov not in covariates.columns:
                continue
            if "percentiles" in ref:
                q = np.asarray(ref["percentiles"], float)
                v = covariates.loc[here, cov].dropna().to_numpy(float)
                if not len(v):
                    continue
                cdf = (np.searchsorted(q, v, "left") + np.searchsorted(q, v, "right")) / 2
                auc = float(np.mean(cdf) / len(q))
                strong = auc >= auc_threshold or auc <= 1 - auc_threshold
                detail = (
                    f"{cov} at {s}: {v.min():.4g}–{v.max():.4g} (median {np.median(v):.4g})"
                    f"; fitted sites: {q[0]:.4g}–{q[-1]:.4g} (median {q[50]:.4g}); "
                    f"AUC {auc:.2f}"
                )
                rows.append([s, cov, "auc", auc, strong, detail])
            else:
                local = clean_categorical(covariates.loc[here, cov]).dropna()
                local = local.value_counts(normalize=True)
                common = {
                    lv: ref["levels"].get(str(lv), 0.0)
                    for lv in local.index
                    if local[lv] >= min_level_share
                }
                if not common:
                    continue
                worst = min(common, key=common.get)
                detail = (
                    f"{cov} at {s}: '{worst}' is {local[worst]:.0%} of its samples and "
                    f"{common[worst]:.0%} of the fitted sites' samples"
                )
                rows.append(
                    [
                        s,
                        cov,
                        "level_elsewhere",
                        common[worst],
                        common[worst] < rare_elsewhere,
                        detail,
                    ]
                )
    return pd.DataFrame(rows, columns=COLUMNS).astype({"confounded": bool})


def affected_features(
    model: CombatModel,
    site: pd.Series,
    covariates: pd.DataFrame,
    sites: list[str],
    *,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Features of confounded ``sites`` whose site mean is largely explained by the covariates.

    ``shift_sd`` = mean covariate effect at the site minus the mean over all fitted samples,
    in pooled-SD units of the feature (as fitted by ComBat). Columns: ``site, feature,
    shift_sd, site_effect_sd, affected``.

    Example:
        >>> import numpy as np
        >>> from immunome.harmonize._combat import fit_combat
        >>> rng = np.random.default_rng(1)
        >>> site = pd.Series(["kids"] * 10 + ["mix"] * 20)
        >>> age = pd.Series(np.r_[rng.uniform(5, 15, 10), rng.uniform(5, 80, 20)])
        >>> X = pd.DataFrame({"f": age / 10 + rng.normal(size=30)})
        >>> m = fit_combat(X, site, age.to_frame("age"))
        >>> bool(affected_features(m, site, age.to_frame("age"), ["kids"]).affected.iloc[0])
        True
    """
    s_arr = site.astype(str).to_numpy()
    C, miss = _design(model.encoder, covariates)
    fitted = ~miss & np.isin(s_arr, list(model.sites))
    bio = _stand_mean(model, C) - model.grand_mean[None, :]
    sd = np.sqrt(model.var_pooled)
    if model.design_mean is not None:  # mean covariate effect over the fitted samples
        base = _stand_mean(model, model.design_mean[None, :])[0] - model.grand_mean
    else:
        with np.errstate(all="ignore"):
            base = np.nanmean(bio[fitted], axis=0)
    rows = []
    for s in sites:
        here = fitted & (s_arr == s)
        if s not in model.sites or not here.any():
            continue
        est = model.sites[s]
        shift = (np.nanmean(bio[here], axis=0) - base) / sd
        for j, feat in enumerate(model.features):
            if not np.isfinite(shift[j]):
                continue
            rows.append(
                [
                    s,
                    feat,
                    float(shift[j]),
                    float(est.gamma_star[j]),
                    bool(abs(shift[j]) >= threshold),
                ]
            )
    out = pd.DataFrame(rows, columns=["site", "feature", "shift_sd", "site_effect_sd", "affected"])
    return out.astype({"shift_sd": float, "site_effect_sd": float, "affected": bool})
