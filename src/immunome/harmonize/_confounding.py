"""Detect site × protected-covariate confounding and name the features it affects.

When a site covers only part of a covariate's range (a site of only children, or only elderly
donors), ComBat cannot tell the site effect from the biology by the data of that site alone: it
relies on the covariate effect estimated at *other* sites (linear in age, extrapolated). The
correction is then only as good as that model. We do not hide this:

* :func:`detect_confounding` scores every site × covariate: for a numeric covariate the AUC of
  "a sample of this site has a larger value than a sample of the other sites" (0.5 = same
  distribution; ≥ 0.9 or ≤ 0.1 = strongly confounded); for a categorical one the share of each
  level's samples that come from this site (≥ 0.8 = confounded).
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


def detect_confounding(
    site: pd.Series,
    covariates: pd.DataFrame,
    *,
    auc_threshold: float = 0.9,
    share_threshold: float = 0.8,
    min_site_size: int = 3,
) -> pd.DataFrame:
    """Score every site × protected covariate; ``confounded`` marks strong confounding.

    Columns: ``site, covariate, statistic, value, confounded, detail``.

    Example:
        >>> cov = pd.DataFrame({"sex": ["F", "F", "F", "M", "M", "F"]})
        >>> t = detect_confounding(pd.Series(list("AAABBB")), cov, share_threshold=0.6)
        >>> t.loc[t.confounded, "site"].tolist()
        ['A', 'B']
    """
    s_arr = site.astype(str).to_numpy()
    rows = []
    counts = pd.Series(s_arr).value_counts()
    for s in sorted(counts.index[counts >= min_site_size]):
        here = s_arr == s
        for cov in covariates.columns:
            col = covariates[cov]
            if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                rows.append(
                    _numeric(s, str(cov), col[here].dropna(), col[~here].dropna(), auc_threshold)
                )
            else:
                rows.append(_categorical(s, str(cov), col, here, share_threshold))
    return pd.DataFrame(
        rows, columns=["site", "covariate", "statistic", "value", "confounded", "detail"]
    )


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


def _categorical(s: str, cov: str, col: pd.Series, here: np.ndarray, thr: float) -> list:
    vals = col.astype("string")
    total = vals.value_counts()
    local = vals[here].value_counts()
    share = {lv: float(local[lv] / total[lv]) for lv in local.index}
    if not share:
        return [s, cov, "level_share", np.nan, False, "no values"]
    top = max(share, key=share.get)
    strong = share[top] >= thr and len(total) > 1
    counts = {str(k): int(v) for k, v in local.items()}
    detail = f"{cov} at {s}: {counts}; {share[top]:.0%} of all '{top}' samples come from {s}"
    return [s, cov, "level_share", share[top], strong, detail]


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
