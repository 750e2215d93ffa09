"""ComBat (empirical-Bayes location/scale) with protected covariates and a frozen mode.

A vectorised re-implementation of Johnson, Li & Rabinovic (Biostatistics 2007) that follows
``inmoose.pycombat.pycombat_norm`` step for step (validated against it in the tests), split into
``fit`` and ``apply`` so that the fitted parameters can be stored as JSON and re-applied:

* **fit** estimates, per feature, the OLS model ``z ~ site + protected covariates``, the grand
  mean, the pooled variance, and per site the empirical-Bayes shrunk location (``gamma*``) and
  scale (``delta*``) effects;
* **apply** uses only stored numbers, element by element, so a sample's harmonised value depends
  on nothing but its own row: adding a site never changes the others' values (bit-identical);
* a site unknown to the model (a newly submitted site) is estimated against the frozen reference
  (grand mean, pooled variance and covariate effects are not re-fitted) — "frozen" mode;
* ``reference=<site>`` keeps that site unchanged and maps the others onto it (ComBat
  reference-batch mode, e.g. CMI-PB 2021 onto 2020).

Degenerate input never crashes; it becomes a :class:`Flag` and the values stay as they were.

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> site = pd.Series(["A"] * 20 + ["B"] * 20)
    >>> X = pd.DataFrame({"f": rng.normal(size=40) + (site == "B") * 3.0})
    >>> cov = pd.DataFrame({"age": rng.uniform(20, 80, 40)})
    >>> res = combat(X, site, cov)
    >>> bool(abs(res.data.f[site == "B"].mean() - res.data.f[site == "A"].mean()) < 0.5)
    True
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from immunome.errors import HarmonizeError
from immunome.harmonize._design import CovariateEncoder, clean_categorical
from immunome.harmonize._flags import Flag
from immunome.harmonize._scales import ScaleSpec, from_scale, resolve_scales, to_scale

FORMAT = "immunome-harmonize/1"


@dataclass
class SiteEstimate:
    """Per-site location/scale effects (arrays aligned with the model's features; NaN = none)."""

    n: np.ndarray
    gamma_hat: np.ndarray
    delta_hat: np.ndarray
    gamma_star: np.ndarray
    delta_star: np.ndarray
    priors: dict[str, float] = field(default_factory=dict)
    source: str = "fit"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation (NaN → null)."""
        return {
            "n": _arr(self.n),
            "gamma_hat": _arr(self.gamma_hat),
            "delta_hat": _arr(self.delta_hat),
            "gamma_star": _arr(self.gamma_star),
            "delta_star": _arr(self.delta_star),
            "priors": {k: _num(v) for k, v in self.priors.items()},
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SiteEstimate:
        """Inverse of :meth:`to_dict`."""
        return cls(
            n=_unarr(d["n"]),
            gamma_hat=_unarr(d["gamma_hat"]),
            delta_hat=_unarr(d["delta_hat"]),
            gamma_star=_unarr(d["gamma_star"]),
            delta_star=_unarr(d["delta_star"]),
            priors={k: (math.nan if v is None else float(v)) for k, v in d["priors"].items()},
            source=d.get("source", "fit"),
        )


@dataclass
class CombatModel:
    """Fitted ComBat parameters; serialisable to JSON (no pickle).

    Example:
        >>> m = CombatModel.from_json(fit_combat(
        ...     pd.DataFrame({"f": [1.0, 2, 3, 5, 6, 7]}), pd.Series(list("AAABBB")),
        ...     pd.DataFrame(index=range(6))).to_json())
        >>> sorted(m.sites)
        ['A', 'B']
    """

    features: list[str]
    scales: dict[str, ScaleSpec]
    encoder: CovariateEncoder
    grand_mean: np.ndarray
    var_pooled: np.ndarray
    beta: np.ndarray
    sites: dict[str, SiteEstimate]
    flags: list[Flag] = field(default_factory=list)
    reference: str | None = None
    mean_only: bool = False
    min_site_size: int = 3
    method: str = "combat"
    design_mean: np.ndarray | None = None
    covariate_reference: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        """The method parameters (what a user chose), without fitted numbers."""
        return {
            "method": self.method,
            "protected": [*self.encoder.numeric, *self.encoder.categorical],
            "reference": self.reference,
            "mean_only": self.mean_only,
            "min_site_size": self.min_site_size,
            "scales": {f: s.kind for f, s in self.scales.items()},
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation of parameters and estimates."""
        return {
            "format": FORMAT,
            **{k: v for k, v in self.params.items() if k != "scales"},
            "features": self.features,
            "scales": {f: s.to_dict() for f, s in self.scales.items()},
            "encoder": self.encoder.to_dict(),
            "covariate_columns": self.encoder.columns,
            "grand_mean": _arr(self.grand_mean),
            "var_pooled": _arr(self.var_pooled),
            "beta": [_arr(row) for row in self.beta],
            "sites": {s: e.to_dict() for s, e in self.sites.items()},
            "flags": [f.to_dict() for f in self.flags],
            "design_mean": None if self.design_mean is None else _arr(self.design_mean),
            "covariate_reference": self.covariate_reference,
        }

    def to_json(self) -> str:
        """Serialise to a JSON string (floats round-trip exactly)."""
        return json.dumps(self.to_dict(), indent=1, sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CombatModel:
        """Inverse of :meth:`to_dict`."""
        if d.get("format") != FORMAT or d.get("method") != "combat":
            raise HarmonizeError(
                f"not a ComBat estimate file (format={d.get('format')!r}, "
                f"method={d.get('method')!r})",
                allowed=[FORMAT],
            )
        enc = CovariateEncoder.from_dict(d["encoder"])
        k = len(enc.columns)
        beta = np.array([_unarr(r) for r in d["beta"]]) if k else np.zeros((0, len(d["features"])))
        return cls(
            features=list(d["features"]),
            scales={f: ScaleSpec.from_dict(s) for f, s in d["scales"].items()},
            encoder=enc,
            grand_mean=_unarr(d["grand_mean"]),
            var_pooled=_unarr(d["var_pooled"]),
            beta=beta.reshape(k, len(d["features"])),
            sites={s: SiteEstimate.from_dict(e) for s, e in d["sites"].items()},
            flags=[Flag.from_dict(f) for f in d.get("flags", [])],
            reference=d.get("reference"),
            mean_only=bool(d.get("mean_only", False)),
            min_site_size=int(d.get("min_site_size", 3)),
            design_mean=None if d.get("design_mean") is None else _unarr(d["design_mean"]),
            covariate_reference=dict(d.get("covariate_reference") or {}),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> CombatModel:
        """Load from :meth:`to_json` output."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise HarmonizeError(
                f"estimates are not valid JSON: line {e.lineno} column {e.colno}: {e.msg}"
            ) from e
        return cls.from_dict(d)


@dataclass
class CombatResult:
    """Harmonised data (measurement scale, same shape as the input), the model, and flags."""

    data: pd.DataFrame
    corrected: pd.DataFrame
    model: CombatModel
    flags: list[Flag]


def combat(
    X: pd.DataFrame,
    site: pd.Series,
    covariates: pd.DataFrame,
    **options: Any,
) -> CombatResult:
    """Fit ComBat on ``X`` and apply it to the same rows (see :func:`fit_combat` for options).

    Example:
        >>> X = pd.DataFrame({"f": [1.0, 2, 3, 5, 6, 7]})
        >>> combat(X, pd.Series(list("AAABBB")), pd.DataFrame(index=range(6))).data.shape
        (6, 1)
    """
    participants = options.get("participants")
    model = fit_combat(X, site, covariates, **options)
    return apply_combat(model, X, site, covariates, participants=participants)


def fit_combat(
    X: pd.DataFrame,
    site: pd.Series,
    covariates: pd.DataFrame,
    *,
    scale: str | Mapping[str, str | ScaleSpec] = "linear",
    upper: float | Mapping[str, float] = 100.0,
    participants: pd.Series | None = None,
    reference: str | None = None,
    mean_only: bool = False,
    min_site_size: int = 3,
) -> CombatModel:
    """Fit ComBat: ``X`` samples × features, ``site`` and ``covariates`` aligned with its rows.

    ``covariates`` holds the protected covariates (e.g. ``age`` numeric, ``sex`` categorical);
    their effects are kept. ``participants`` (optional) counts distinct participants per site
    for ``min_site_size`` (default: rows). ``reference`` keeps one site unchanged.

    Example:
        >>> m = fit_combat(pd.DataFrame({"f": [1.0, 2, 3, 5, 6, 7]}), pd.Series(list("AAABBB")),
        ...                pd.DataFrame(index=range(6)))
        >>> round(float(m.grand_mean[0]), 3)
        4.0
    """
    _check_aligned(X, site, covariates)
    scales = resolve_scales(X, scale, upper=upper)
    Z = to_scale(X, scales).to_numpy(float)
    enc = CovariateEncoder.fit(covariates)
    C, miss = _design(enc, covariates)
    site_arr = site.astype(str).to_numpy()
    flags: list[Flag] = []
    if miss.any():
        flags.append(_missing_cov_flag(site_arr, miss))
    sizes = _site_sizes(site_arr, ~miss, participants)
    small = sorted(s for s, n in sizes.items() if n < min_site_size)
    flags += [
        Flag(
            rule="site_too_small",
            site=s,
            message=f"{sizes[s]} participant(s) with complete covariates < min_site_size "
            f"{min_site_size}; left uncorrected",
        )
        for s in small
    ]
    if reference is not None and reference not in sizes:
        raise HarmonizeError(f"reference site {reference!r} has no samples", allowed=sorted(sizes))
    if reference in small:
        raise HarmonizeError(
            f"reference site {reference!r} has {sizes[reference]} participant(s) "
            f"< min_site_size {min_site_size}"
        )
    eligible = ~miss & ~np.isin(site_arr, small)
    p, k = Z.shape[1], C.shape[1]
    grand, var = np.full(p, np.nan), np.full(p, np.nan)
    beta = np.full((k, p), np.nan)
    fit_sites = sorted(set(site_arr[eligible]))
    feats = [str(c) for c in X.columns]
    for cols in _mask_groups(Z, eligible):
        for j, res in zip(
            cols,
            _fit_group(
                Z[:, cols], site_arr, C, eligible, reference, [feats[j] for j in cols], enc.columns
            ),
            strict=True,
        ):
            flags += res.flags
            if res.ok:
                grand[j], var[j], beta[:, j] = res.grand, res.var, res.beta
    model = CombatModel(
        features=[str(c) for c in X.columns],
        scales=scales,
        encoder=enc,
        grand_mean=grand,
        var_pooled=var,
        beta=beta,
        sites={},
        flags=flags,
        reference=reference,
        mean_only=mean_only,
        min_site_size=min_site_size,
        design_mean=C[eligible].mean(axis=0) if eligible.any() else None,
        covariate_reference=covariate_reference(covariates[eligible], enc),
    )
    for s in fit_sites:
        rows = eligible & (site_arr == s)
        model.flags = _dedupe(model.flags)
        S = _standardise(model, Z[rows], C[rows])
        if s == reference:
            model.sites[s] = _reference_estimate(S)
        else:
            model.sites[s] = _estimate_site(
                S, mean_only=mean_only, source="fit", constant=_constant(Z[rows])
            )
        model.flags += _site_feature_flags(model, s)
    model.flags = _dedupe(model.flags)
    return model


def apply_combat(
    model: CombatModel,
    X: pd.DataFrame,
    site: pd.Series,
    covariates: pd.DataFrame,
    *,
    participants: pd.Series | None = None,
) -> CombatResult:
    """Harmonise ``X`` with a fitted (frozen) model; unknown sites are estimated, not refitted.

    Returns the harmonised values on the measurement scale; cells that were not corrected keep
    their input value exactly. ``result.model`` includes estimates of any new site.

    Example:
        >>> X = pd.DataFrame({"f": [1.0, 2, 3, 5, 6, 7]}); s = pd.Series(list("AAABBB"))
        >>> m = fit_combat(X, s, pd.DataFrame(index=range(6)))
        >>> apply_combat(m, X, s, pd.DataFrame(index=range(6))).data.f.round(2).tolist()[:1]
        [3.0]
    """
    _check_aligned(X, site, covariates)
    unknown = [c for c in X.columns if str(c) not in model.features]
    if unknown:
        raise HarmonizeError(
            f"features not in the fitted model: {unknown[:10]}", allowed=model.features
        )
    cols = [model.features.index(str(c)) for c in X.columns]
    sub = _submodel(model, cols)
    Z = to_scale(X.rename(columns=str), sub.scales).to_numpy(float)
    C, miss = _design(model.encoder, covariates)
    site_arr = site.astype(str).to_numpy()
    flags: list[Flag] = []
    if miss.any():
        flags.append(_missing_cov_flag(site_arr, miss))
    model = _add_new_sites(model, Z, C, miss, site_arr, participants, cols, flags)
    sub = _submodel(model, cols)
    out = Z.copy()
    done = np.zeros(Z.shape, bool)
    for s, est in sub.sites.items():
        rows = ~miss & (site_arr == s)
        if not rows.any() or s == model.reference:
            continue
        ok = np.isfinite(est.gamma_star) & np.isfinite(est.delta_star) & (est.delta_star > 0)
        ok &= np.isfinite(sub.grand_mean)
        if not ok.any():
            continue
        adj = _adjust(sub, est, Z[rows], C[rows])
        block = out[rows]
        block[:, ok] = adj[:, ok]
        out[rows] = block
        d = done[rows]
        d[:, ok] = np.isfinite(Z[rows][:, ok])
        done[rows] = d
    back = from_scale(pd.DataFrame(out, index=X.index, columns=list(sub.features)), sub.scales)
    data = X.astype(float).copy()
    data.columns = list(sub.features)
    data = data.mask(done, back)
    corrected = pd.DataFrame(done, index=X.index, columns=list(sub.features))
    kept = [f for f in model.flags if f.rule != "missing_covariates"]
    return CombatResult(data=data, corrected=corrected, model=model, flags=kept + flags)


# --------------------------------------------------------------------------- internals


@dataclass
class _FeatureFit:
    ok: bool
    flags: list[Flag]
    grand: float = math.nan
    var: float = math.nan
    beta: np.ndarray | None = None


def _mask_groups(Z: np.ndarray, eligible: np.ndarray) -> list[list[int]]:
    """Feature indices grouped by identical observed-sample masks (fitted together)."""
    groups: dict[bytes, list[int]] = {}
    obs = eligible[:, None] & np.isfinite(Z)
    for j in range(Z.shape[1]):
        groups.setdefault(np.packbits(obs[:, j]).tobytes(), []).append(j)
    return list(groups.values())


def _fit_group(
    Zg: np.ndarray,
    site_arr: np.ndarray,
    C: np.ndarray,
    eligible: np.ndarray,
    reference: str | None,
    feats: list[str],
    cov_names: list[str],
) -> list[_FeatureFit]:
    """OLS ``z ~ site + covariates`` for features observed on the same samples."""
    out: dict[int, _FeatureFit] = {}
    obs = eligible & np.isfinite(Zg[:, 0])
    for q, feat in enumerate(feats):
        if not np.isfinite(Zg[:, q]).any():
            out[q] = _FeatureFit(
                False,
                [Flag(rule="all_missing", feature=feat, message="no values; left uncorrected")],
            )
        elif not obs.any() or np.ptp(Zg[obs, q]) == 0:
            out[q] = _FeatureFit(
                False,
                [
                    Flag(
                        rule="constant_feature",
                        feature=feat,
                        message="no variance; left uncorrected",
                    )
                ],
            )
    todo = [q for q in range(len(feats)) if q not in out]
    if not todo:
        return [out[q] for q in range(len(feats))]
    counts = pd.Series(site_arr[obs]).value_counts()
    few = sorted(counts.index[counts < 2])
    obs &= ~np.isin(site_arr, few)
    sites = sorted(set(site_arr[obs]))
    for q in todo:
        flags = [
            Flag(
                rule="site_feature_too_few",
                site=s,
                feature=feats[q],
                message=f"{counts[s]} value(s) < 2; left uncorrected",
            )
            for s in few
        ]
        problem = None
        if len(sites) < 2 and reference is None:
            problem = Flag(rule="single_site", feature=feats[q], message=f"only at {sites}")
        elif reference is not None and reference not in sites:
            problem = Flag(
                rule="site_feature_too_few",
                site=reference,
                feature=feats[q],
                message="reference site lacks this feature; left uncorrected",
            )
        out[q] = _FeatureFit(problem is None, flags + ([problem] if problem else []))
    todo = [q for q in todo if out[q].ok]
    if not todo:
        return [out[q] for q in range(len(feats))]
    s_obs = site_arr[obs]
    B = np.column_stack([(s_obs == s).astype(float) for s in sites])
    Cj = C[obs]
    varying = np.ptp(Cj, axis=0) > 0 if Cj.shape[1] else np.zeros(0, bool)
    D = np.hstack([B, Cj[:, varying]])
    if np.linalg.matrix_rank(D) < D.shape[1]:
        for q in todo:
            out[q] = _FeatureFit(
                False,
                out[q].flags
                + [
                    Flag(
                        rule="covariate_confounded",
                        feature=feats[q],
                        message=f"design site + {cov_names} is rank deficient among the "
                        f"{len(s_obs)} samples with this feature (a covariate is collinear with "
                        "site); left uncorrected to avoid removing biology",
                    )
                ],
            )
        return [out[q] for q in range(len(feats))]
    Y = Zg[np.ix_(obs, todo)]
    coef = np.linalg.solve(D.T @ D, D.T @ Y)
    resid = Y - D @ coef
    if reference is None:
        grand = (B.sum(axis=0) / len(Y)) @ coef[: len(sites)]
        var = np.mean(resid**2, axis=0)
    else:
        r = sites.index(reference)
        grand = coef[r]
        var = np.mean(resid[B[:, r] == 1] ** 2, axis=0)
    for i, q in enumerate(todo):
        if not var[i] > 1e-12 * max(1.0, float(np.var(Y[:, i]))):
            out[q] = _FeatureFit(
                False,
                out[q].flags
                + [Flag(rule="constant_feature", feature=feats[q], message="no residual variance")],
            )
            continue
        beta = np.zeros(Cj.shape[1])
        beta[varying] = coef[len(sites) :, i]
        out[q] = _FeatureFit(True, out[q].flags, float(grand[i]), float(var[i]), beta)
    return [out[q] for q in range(len(feats))]


def covariate_reference(covariates: pd.DataFrame, enc: CovariateEncoder) -> dict[str, Any]:
    """Summary of the fitted samples' protected covariates, kept to judge a new site's overlap:
    percentiles (0, 1, …, 100) of numeric ones and level proportions of categorical ones.

    Example:
        >>> enc = CovariateEncoder.fit(pd.DataFrame({"age": [20.0, 40.0]}))
        >>> covariate_reference(pd.DataFrame({"age": [20.0, 40.0]}), enc)["age"]["percentiles"][50]
        30.0
    """
    out: dict[str, Any] = {}
    for c in enc.numeric:
        v = covariates[c].dropna().to_numpy(float)
        if len(v):
            out[c] = {"percentiles": [float(x) for x in np.percentile(v, np.arange(101))]}
    for c in enc.categorical:
        v = clean_categorical(covariates[c]).dropna()
        if len(v):
            out[c] = {
                "levels": {
                    str(k): float(x) for k, x in v.value_counts(normalize=True).sort_index().items()
                }
            }
    return out


def _stand_mean(model: CombatModel, C: np.ndarray) -> np.ndarray:
    """grand + Σ_k C[:, k] β_k, computed element-wise in a fixed order (row-independent)."""
    sm = np.broadcast_to(model.grand_mean, (C.shape[0], len(model.grand_mean))).copy()
    for kk in range(C.shape[1]):
        sm = sm + C[:, kk][:, None] * model.beta[kk][None, :]
    return sm


def _standardise(model: CombatModel, Z: np.ndarray, C: np.ndarray) -> np.ndarray:
    return (Z - _stand_mean(model, C)) / np.sqrt(model.var_pooled)[None, :]


def _adjust(model: CombatModel, est: SiteEstimate, Z: np.ndarray, C: np.ndarray) -> np.ndarray:
    sm = _stand_mean(model, C)
    sd = np.sqrt(model.var_pooled)[None, :]
    s = (Z - sm) / sd
    return (s - est.gamma_star[None, :]) / np.sqrt(est.delta_star)[None, :] * sd + sm


def _reference_estimate(S: np.ndarray) -> SiteEstimate:
    n = np.isfinite(S).sum(axis=0).astype(float)
    ok = n >= 2
    z, o = np.where(ok, 0.0, np.nan), np.where(ok, 1.0, np.nan)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        gh = np.where(ok, np.nanmean(S, axis=0), np.nan)
    return SiteEstimate(
        n=n, gamma_hat=gh, delta_hat=o, gamma_star=z, delta_star=o, priors={}, source="reference"
    )


def _constant(Z: np.ndarray) -> np.ndarray:
    """Columns whose observed values at a site are all identical (on the correction scale)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmax(Z, axis=0) == np.nanmin(Z, axis=0)


def _estimate_site(
    S: np.ndarray, *, mean_only: bool, source: str, constant: np.ndarray | None = None
) -> SiteEstimate:
    """Empirical-Bayes location/scale for one site from its standardised data (NaN allowed).

    Features with < 2 values or no variance at this site get no estimate (left uncorrected).
    """
    n = np.isfinite(S).sum(axis=0).astype(float)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        g_hat = np.where(n >= 1, np.nanmean(S, axis=0), np.nan)
        d_hat = np.where(n >= 2, np.nanvar(S, axis=0), np.nan)
    ok = (n >= 2) & (d_hat > 1e-12)
    if constant is not None:
        ok &= ~constant
    if mean_only:
        d_hat = np.where(ok, 1.0, np.nan)
    g_star, d_star = np.where(ok, g_hat, np.nan), np.where(ok, d_hat, np.nan)
    priors: dict[str, float] = {}
    gv = g_hat[ok]
    if gv.size >= 2 and np.var(gv) > 0:
        g_bar, t2 = float(np.mean(gv)), float(np.var(gv))
        priors.update(gamma_bar=g_bar, t2=t2)
        if mean_only:
            g_star = np.where(ok, (t2 * g_hat + g_bar) / (t2 + 1.0), np.nan)
        else:
            dv = d_hat[ok]
            m, s2 = float(np.mean(dv)), float(np.var(dv))
            if s2 > 0:
                a, b = (2 * s2 + m * m) / s2, (m * s2 + m**3) / s2
                priors.update(a=a, b=b)
                g_star, d_star = _it_sol(S, g_hat, d_hat, n, g_bar, t2, a, b, ok)
    return SiteEstimate(
        n=n,
        gamma_hat=g_hat,
        delta_hat=d_hat,
        gamma_star=g_star,
        delta_star=d_star,
        priors=priors,
        source=source,
    )


def _it_sol(
    S: np.ndarray,
    g_hat: np.ndarray,
    d_hat: np.ndarray,
    n: np.ndarray,
    g_bar: float,
    t2: float,
    a: float,
    b: float,
    ok: np.ndarray,
    conv: float = 1e-4,
    max_iter: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    g_old, d_old = g_hat[ok], d_hat[ok]
    Sv, nv, ghv = S[:, ok], n[ok], g_hat[ok]
    for _ in range(max_iter):
        g_new = (t2 * nv * ghv + d_old * g_bar) / (t2 * nv + d_old)
        sum2 = np.nansum((Sv - g_new[None, :]) ** 2, axis=0)
        d_new = (0.5 * sum2 + b) / (0.5 * nv + a - 1)
        with np.errstate(all="ignore"):
            change = max(
                float(np.nanmax(np.abs(g_new - g_old) / np.abs(g_old))),
                float(np.nanmax(np.abs(d_new - d_old) / d_old)),
            )
        g_old, d_old = g_new, d_new
        if change <= conv:
            break
    g_star, d_star = np.full_like(g_hat, np.nan), np.full_like(d_hat, np.nan)
    g_star[ok], d_star[ok] = g_old, d_old
    return g_star, d_star


def _add_new_sites(
    model: CombatModel,
    Z: np.ndarray,
    C: np.ndarray,
    miss: np.ndarray,
    site_arr: np.ndarray,
    participants: pd.Series | None,
    cols: list[int],
    flags: list[Flag],
) -> CombatModel:
    known_small = {f.site for f in model.flags if f.rule == "site_too_small"}
    new = sorted(set(site_arr[~miss]) - set(model.sites) - known_small)
    if not new:
        return model
    sizes = _site_sizes(site_arr, ~miss, participants)
    p = len(model.features)
    sites = dict(model.sites)
    added: list[Flag] = []
    for s in new:
        if sizes.get(s, 0) < model.min_site_size:
            added.append(
                Flag(
                    rule="site_too_small",
                    site=s,
                    message=f"{sizes.get(s, 0)} participant(s) < min_site_size "
                    f"{model.min_site_size}; left uncorrected",
                )
            )
            continue
        rows = ~miss & (site_arr == s)
        full = np.full((int(rows.sum()), p), np.nan)
        full[:, cols] = Z[rows]
        S = _standardise(model, full, C[rows])
        sites[s] = _estimate_site(
            S, mean_only=model.mean_only, source="frozen-apply", constant=_constant(full)
        )
    new_model = CombatModel(**{**model.__dict__, "sites": sites, "flags": model.flags + added})
    for s in new:
        if s in sites:
            new_model.flags += _site_feature_flags(new_model, s, only=cols)
    return new_model


def _site_feature_flags(model: CombatModel, s: str, *, only: list[int] | None = None) -> list[Flag]:
    est = model.sites[s]
    out = []
    for j in only if only is not None else range(len(model.features)):
        if not np.isfinite(model.grand_mean[j]) or est.n[j] == 0 or s == model.reference:
            continue
        if est.n[j] < 2:
            rule, msg = "site_feature_too_few", f"{int(est.n[j])} value(s) < 2; uncorrected"
        elif not np.isfinite(est.gamma_star[j]):
            rule = "site_feature_constant"
            msg = f"all {int(est.n[j])} values are identical at this site; uncorrected"
        else:
            continue
        out.append(Flag(rule=rule, site=s, feature=model.features[j], message=msg))
    return out


def _dedupe(flags: list[Flag]) -> list[Flag]:
    seen: set[tuple] = set()
    out = []
    for f in flags:
        key = (f.rule, f.site, f.feature)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _submodel(model: CombatModel, cols: list[int]) -> CombatModel:
    if cols == list(range(len(model.features))):
        return model
    feats = [model.features[j] for j in cols]
    sites = {
        s: SiteEstimate(
            n=e.n[cols],
            gamma_hat=e.gamma_hat[cols],
            delta_hat=e.delta_hat[cols],
            gamma_star=e.gamma_star[cols],
            delta_star=e.delta_star[cols],
            priors=e.priors,
            source=e.source,
        )
        for s, e in model.sites.items()
    }
    return CombatModel(
        **{
            **model.__dict__,
            "features": feats,
            "scales": {f: model.scales[f] for f in feats},
            "grand_mean": model.grand_mean[cols],
            "var_pooled": model.var_pooled[cols],
            "beta": model.beta[:, cols],
            "sites": sites,
        }
    )


def _design(enc: CovariateEncoder, covariates: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    miss = enc.missing(covariates).to_numpy()
    C = np.full((len(covariates), len(enc.columns)), np.nan)
    if (~miss).any():
        C[~miss] = enc.transform(covariates[~miss])
    return C, miss


def _site_sizes(
    site_arr: np.ndarray, rows: np.ndarray, participants: pd.Series | None
) -> dict[str, int]:
    if participants is None:
        return pd.Series(site_arr[rows]).value_counts().to_dict()
    df = pd.DataFrame({"s": site_arr[rows], "p": np.asarray(participants)[rows]})
    return df.groupby("s")["p"].nunique().to_dict()


def _missing_cov_flag(site_arr: np.ndarray, miss: np.ndarray) -> Flag:
    by_site = pd.Series(site_arr[miss]).value_counts().to_dict()
    return Flag(
        rule="missing_covariates",
        message=f"{int(miss.sum())} sample(s) lack a protected covariate and are left "
        f"uncorrected (per site: {by_site})",
    )


def _check_aligned(X: pd.DataFrame, site: pd.Series, covariates: pd.DataFrame) -> None:
    if not isinstance(X, pd.DataFrame):
        raise HarmonizeError(f"X must be a DataFrame (samples × features), got {type(X).__name__}")
    for name, obj in (("site", site), ("covariates", covariates)):
        if len(obj) != len(X) or not obj.index.equals(X.index):
            raise HarmonizeError(
                f"{name} is not aligned with the rows of X ({len(obj)} vs {len(X)} rows, or a "
                "different index); pass objects indexed like X"
            )
    if site.isna().any():
        raise HarmonizeError(f"{int(site.isna().sum())} sample(s) have no site")
    bad = [c for c, t in X.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    if bad:
        raise HarmonizeError(f"non-numeric feature columns: {bad[:10]}")


def _num(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _arr(a: np.ndarray) -> list[float | None]:
    return [_num(float(v)) for v in np.asarray(a, float)]


def _unarr(v: list[float | None]) -> np.ndarray:
    return np.array([math.nan if x is None else float(x) for x in v], float)
