"""Immune age: predict chronological age from immune features, evaluated across sites.

The candidate list is fixed in advance (baselines + five models). Each is scored by
leave-one-site-out (LOSO) and stratified 5-fold CV; the model with the lowest LOSO MAE is chosen
(said in the card). Because choosing on LOSO is itself a fit to those folds, ``nested=True`` also
reports the honest nested-LOSO error of the whole "choose the best candidate" procedure.

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0); n = 60
    >>> age = rng.uniform(20, 80, n)
    >>> X = pd.DataFrame({"a": np.exp(age / 40) + rng.normal(0, .1, n), "b": rng.uniform(1, 5, n)})
    >>> res = evaluate_candidates(X, age, groups=np.repeat(["s1", "s2", "s3"], 20),
    ...                           candidates={"ridge": {"kind": "ridge", "alpha": 1.0}}, derived=[])
    >>> res["loso"]["ridge"]["mae"] < 15
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from immunome.errors import ModelError
from immunome.models._metrics import age_band, gap_association, regression_metrics, subgroup_metrics
from immunome.models._model import Model, conformal_quantile, fit_model
from immunome.models._schema import add_derived, build_schema, training_matrix
from immunome.models._splits import (
    Split,
    cross_predict,
    kfold_splits,
    loso_splits,
)

BASELINES: dict[str, dict[str, Any]] = {
    "training_mean": {"kind": "mean"},
    "ridge_log": {"kind": "ridge", "alpha": 1.0},
}
CANDIDATES: dict[str, dict[str, Any]] = {
    "elasticnet": {"kind": "elasticnet"},
    "lightgbm": {"kind": "lightgbm", "n_estimators": 1000},
    "svr_rbf": {"kind": "svr", "C": 100.0, "epsilon": 1.0},
    "ridge+svr": {
        "kind": "ensemble",
        "members": [{"kind": "ridge", "alpha": 1.0}, {"kind": "svr", "C": 100.0}],
    },
    "ridge+svr+lightgbm+kdm": {
        "kind": "ensemble",
        "members": [
            {"kind": "ridge", "alpha": 1.0},
            {"kind": "svr", "C": 100.0},
            {"kind": "lightgbm", "n_estimators": 1000},
            {"kind": "kdm"},
        ],
    },
}
# Child-over-parent log-ratio features (naive / memory fractions fall or rise with age), written
# with protocol feature ids; 10KIP column names are accepted through ALIASES_10KIP. A ratio is used
# only if its denominator and at least one numerator column exist. ``partial``: a missing
# numerator part counts as absent (e.g. naive T fraction from naive CD4 alone when CD8 was not stained).
RATIOS: list[dict[str, Any]] = [
    {
        "name": "log_ratio_naive_cd8",
        "numerator": ["naive_cd8_t_cell"],
        "denominator": ["cd8_t_cell"],
    },
    {
        "name": "log_ratio_naive_cd4",
        "numerator": ["naive_cd4_t_cell"],
        "denominator": ["cd4_t_cell"],
    },
    {
        "name": "log_ratio_naive_t",
        "numerator": ["naive_cd4_t_cell", "naive_cd8_t_cell"],
        "denominator": ["t_cell"],
        "partial": True,
    },
    {"name": "log_ratio_cd4_cd8", "numerator": ["cd4_t_cell"], "denominator": ["cd8_t_cell"]},
    {
        "name": "log_ratio_effector_cd8",
        "numerator": ["effector_memory_cd8_t_cell", "temra_cd8_t_cell"],
        "denominator": ["cd8_t_cell"],
    },
    {
        "name": "log_ratio_effector_cd4",
        "numerator": ["effector_memory_cd4_t_cell", "temra_cd4_t_cell"],
        "denominator": ["cd4_t_cell"],
    },
    {
        "name": "log_ratio_cm_cd4",
        "numerator": ["central_memory_cd4_t_cell"],
        "denominator": ["cd4_t_cell"],
    },
    {
        "name": "log_ratio_cm_cd8",
        "numerator": ["central_memory_cd8_t_cell"],
        "denominator": ["cd8_t_cell"],
    },
    {"name": "log_ratio_naive_b", "numerator": ["naive_b_cell"], "denominator": ["b_cell"]},
    {"name": "log_ratio_memory_b", "numerator": ["memory_b_cell"], "denominator": ["b_cell"]},
    {"name": "log_ratio_treg", "numerator": ["treg"], "denominator": ["cd4_t_cell"]},
    {"name": "log_ratio_nk_lymph", "numerator": ["nk_cell"], "denominator": ["lymphocyte"]},
    {"name": "log_ratio_t_lymph", "numerator": ["t_cell"], "denominator": ["lymphocyte"]},
    {
        "name": "log_ratio_cd16_mono",
        "numerator": ["cd16_pos_monocyte"],
        "denominator": ["monocyte"],
    },
]
ALIASES_10KIP = {
    "lymphocyte": "Lymphocytes",
    "monocyte": "Monocytes",
    "t_cell": "T_cells",
    "cd4_t_cell": "CD4_T_cells",
    "cd8_t_cell": "CD8_T_cells",
    "naive_cd4_t_cell": "Naive_CD4_T_cells",
    "central_memory_cd4_t_cell": "Central_Memory_CD4_T_cells",
    "effector_memory_cd4_t_cell": "Effector_Memory_CD4_T_cells",
    "temra_cd4_t_cell": "Effector_CD4_T_cells",
    "naive_cd8_t_cell": "Naive_CD8_T_cells",
    "central_memory_cd8_t_cell": "Central_Memory_CD8_T_cells",
    "effector_memory_cd8_t_cell": "Effector_Memory_CD8_T_cells",
    "temra_cd8_t_cell": "Effector_CD8_T_cells",
    "treg": "Tregs",
    "nk_cell": "NK_cells",
    "b_cell": "B_cells",
    "naive_b_cell": "Naive_B_cells",
    "memory_b_cell": "Memory_B_cells",
    "cd16_pos_monocyte": "CD16_pos_monocytes",
}
CITATION_10KIP = (
    "Zalocusky KA et al. The 10,000 Immunomes Project: building a resource for human immunology. "
    "Cell Reports 2018. Data: ImmPort (open access)."
)


def default_derived(columns: list[str]) -> list[dict[str, Any]]:
    """The child/parent log-ratios computable from ``columns`` (protocol ids or 10KIP names)."""
    cols = set(columns)

    def resolve(c: str) -> str | None:
        return c if c in cols else (ALIASES_10KIP.get(c) if ALIASES_10KIP.get(c) in cols else None)

    out = []
    for r in RATIOS:
        num = [resolve(c) for c in r["numerator"]]
        den = [resolve(c) for c in r["denominator"]]
        if None in den or (None in num and not r.get("partial")) or not any(num):
            continue
        out.append({**r, "numerator": [c for c in num if c], "denominator": den, "offset": 0.1})
    return out


def _matrix(X: pd.DataFrame, derived: list[dict[str, Any]], transform: str) -> np.ndarray:
    Xd = add_derived(X, derived)
    return training_matrix(Xd, build_schema(Xd, transform=transform, derived=derived))


def _maker(spec: dict[str, Any]):
    from immunome.models._estimators import make_estimator

    return lambda: make_estimator(spec)


def evaluate_candidates(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    groups: np.ndarray,
    candidates: dict[str, dict[str, Any]] | None = None,
    derived: list[dict[str, Any]] | None = None,
    transform: str = "log1p",
    seed: int = 0,
) -> dict[str, Any]:
    """LOSO and stratified 5-fold out-of-fold predictions + metrics for baselines and candidates."""
    y = np.asarray(y, dtype=float)
    derived = default_derived(list(X.columns)) if derived is None else derived
    full = _matrix(X, derived, transform)
    base = _matrix(X, [], transform)
    splits = {"loso": loso_splits(groups), "kfold5": kfold_splits(y, n_splits=5, seed=seed)}
    res: dict[str, Any] = {
        "pred": {},
        "splits": splits,
        "loso": {},
        "kfold5": {},
        "derived": derived,
    }
    for name, spec in {**BASELINES, **(CANDIDATES if candidates is None else candidates)}.items():
        M = base if name in BASELINES else full
        for scheme, sp in splits.items():
            pred, _ = cross_predict(_maker(spec), M, y, sp)
            res["pred"][(name, scheme)] = pred
            res[scheme][name] = regression_metrics(y, pred)
    return res


def choose(res: dict[str, Any], candidates: dict[str, dict[str, Any]]) -> str:
    """The non-baseline candidate with the lowest LOSO MAE."""
    return min(candidates, key=lambda n: res["loso"][n]["mae"])


def conformal_oof(
    spec: dict[str, Any],
    M: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    splits: list[Split],
    *,
    alpha: float = 0.1,
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Out-of-fold intervals: in each split, the conformal quantile comes from inner leave-one-site-out residuals
    on that split's *training* rows only; coverage is then measured on its test rows."""
    lower, upper, per_split = np.full(len(y), np.nan), np.full(len(y), np.nan), []
    for s in splits:
        inner = loso_splits(groups[s.train])
        ipred, _ = cross_predict(_maker(spec), M[s.train], y[s.train], inner)
        q = conformal_quantile(np.abs(ipred - y[s.train]), alpha=alpha)
        pred = _maker(spec)().fit(M[s.train], y[s.train]).predict(M[s.test])
        lower[s.test], upper[s.test] = pred - q, pred + q
        cov = float(np.mean((y[s.test] >= lower[s.test]) & (y[s.test] <= upper[s.test])))
        per_split.append(
            {"split": s.name, "n": int(len(s.test)), "q": round(q, 3), "coverage": round(cov, 4)}
        )
    return lower, upper, per_split


def nested_loso_mae(
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    candidates: dict[str, dict[str, Any]],
    derived: list[dict[str, Any]],
    transform: str = "log1p",
) -> dict[str, Any]:
    """Honest error of "pick the best candidate by LOSO": selection is redone inside each outer fold."""
    M = _matrix(X, derived, transform)
    y = np.asarray(y, dtype=float)
    pred, picks = np.full(len(y), np.nan), {}
    for s in loso_splits(groups):
        inner = loso_splits(groups[s.train])
        maes = {
            n: np.nanmean(
                np.abs(cross_predict(_maker(sp), M[s.train], y[s.train], inner)[0] - y[s.train])
            )
            for n, sp in candidates.items()
        }
        best = min(maes, key=maes.get)
        picks[s.name] = best
        pred[s.test] = _maker(candidates[best])().fit(M[s.train], y[s.train]).predict(M[s.test])
    return {**regression_metrics(y, pred), "picked_per_fold": picks}


def train_immune_age(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    groups: np.ndarray,
    meta: pd.DataFrame | None = None,
    name: str = "immune-age",
    candidates: dict[str, dict[str, Any]] | None = None,
    units: dict[str, str] | None = None,
    nested: bool = False,
    alpha: float = 0.1,
    context: dict[str, Any] | None = None,
    seed: int = 0,
) -> Model:
    """Compare candidates, pick by LOSO MAE, fit on all rows, and attach a full model card.

    ``meta`` (aligned with ``X``) may hold ``sex`` and ``race`` for subgroup metrics.
    """
    y = np.asarray(y, dtype=float)
    groups = np.asarray(groups, dtype=object)
    if len(set(groups.tolist())) < 3:
        raise ModelError("immune age needs at least 3 sites for leave-one-site-out evaluation")
    cands = CANDIDATES if candidates is None else candidates
    derived = default_derived(list(X.columns))
    res = evaluate_candidates(X, y, groups=groups, candidates=cands, derived=derived, seed=seed)
    chosen = choose(res, cands)
    M = _matrix(X, derived, "log1p")
    intervals, coverage = {}, []
    for scheme, splits in res["splits"].items():
        lo, hi, per = conformal_oof(cands[chosen], M, y, groups, splits, alpha=alpha)
        res[f"{scheme}_bounds"] = (lo, hi)
        intervals[f"{scheme}_coverage"] = round(float(np.mean((y >= lo) & (y <= hi))), 4)
        coverage += [{"scheme": scheme, **p} for p in per]
    loso_pred = res["pred"][(chosen, "loso")]
    model = fit_model(
        X,
        y,
        spec=cands[chosen],
        name=name,
        units=units,
        imputation="native",
        derived=derived,
        conformal_residuals=loso_pred - y,
        alpha=alpha,
        target={"name": "age", "unit": "years"},
        **(context or {}),
    )
    nested_res = nested_loso_mae(X, y, groups, cands, derived) if nested else None
    model.card = immune_age_card(
        model,
        res,
        chosen,
        cands,
        y=y,
        groups=groups,
        meta=meta,
        intervals=intervals,
        coverage=coverage,
        nested=nested_res,
        alpha=alpha,
    )
    return model


def immune_age_card(
    model: Model,
    res: dict[str, Any],
    chosen: str,
    cands: dict[str, Any],
    *,
    y: np.ndarray,
    groups: np.ndarray,
    meta: pd.DataFrame | None,
    intervals: dict[str, Any],
    coverage: list[dict[str, Any]],
    nested: dict[str, Any] | None,
    alpha: float,
) -> dict[str, Any]:
    """Assemble the immune-age model card (JSON-able dict)."""
    table = []
    for n in [*BASELINES, *cands]:
        role = "baseline" if n in BASELINES else ("chosen" if n == chosen else "candidate")
        lo, ko = res["loso"][n], res["kfold5"][n]
        table.append(
            {
                "model": n,
                "role": role,
                "loso_mae": lo["mae"],
                "loso_r": lo["r"],
                "kfold5_mae": ko["mae"],
                "kfold5_r": ko["r"],
            }
        )
    pred = res["pred"][(chosen, "loso")]
    lo, hi = res["loso_bounds"]
    ridge_pred = res["pred"][("ridge_log", "loso")]
    per_site = []
    for row in subgroup_metrics(y, pred, {"site": groups}, lower=lo, upper=hi):
        m = groups == row["level"]
        if not row["suppressed"]:
            row["ridge_log_mae"] = round(float(np.mean(np.abs(ridge_pred[m] - y[m]))), 4)
            row["age_range"] = f"{y[m].min():.0f}-{y[m].max():.0f}"
        per_site.append(row)
    sub = {"site": groups, "age_band": age_band(y)}
    if meta is not None:
        for c in ("sex", "race"):
            if c in meta.columns:
                sub[c] = meta[c].to_numpy()
    schema = model.schema
    ridge = res["loso"]["ridge_log"]["mae"]
    best = res["loso"][chosen]["mae"]
    return {
        "format": "immunome-model-card/1",
        "name": model.name,
        "task": "regression: chronological age (years) from immune cell frequencies",
        "target": {"name": "age", "unit": "years"},
        "summary": (
            f"Immune age. Chosen model: {chosen}, selected among {len(cands)} candidates by lowest "
            f"leave-one-site-out MAE ({best} y vs {ridge} y for ridge on log features, "
            f"{100 * (ridge - best) / ridge:.1f}% lower)."
        ),
        "headline": {
            "loso_mae": best,
            "loso_r": res["loso"][chosen]["r"],
            "baseline_ridge_log_loso_mae": ridge,
            "baseline_mean_loso_mae": res["loso"]["training_mean"]["mae"],
            "loso_interval_coverage": intervals.get("loso_coverage"),
            "nested_loso_mae": nested["mae"] if nested else None,
        },
        "data": {
            "release_id": schema.get("release_id"),
            "assay": schema.get("assay"),
            "layer": schema.get("layer"),
            "n_participants": int(len(y)),
            "n_sites": int(len(set(groups.tolist()))),
            "citations": schema.get("citations") or [CITATION_10KIP],
        },
        "features": [f["name"] for f in schema["features"]],
        "algorithm": {
            "name": chosen,
            "spec": cands[chosen],
            "transform": "log1p on % features; derived naive-fraction log-ratios",
            "selection": "lowest leave-one-site-out MAE among candidates",
            "candidates": {n: cands[n] for n in cands},
            "baselines": BASELINES,
        },
        "metrics_table": table,
        "nested_selection": nested,
        "per_site": per_site,
        "subgroups": subgroup_metrics(y, pred, sub, lower=lo, upper=hi),
        "gap_association": gap_association(
            pred - y, y, {k: v for k, v in sub.items() if k in ("sex", "site")}
        ),
        "intervals": {
            "method": f"split conformal, {100 * (1 - alpha):.0f}% nominal; evaluation quantile from "
            "inner leave-one-site-out residuals of each training split; the saved model uses its LOSO residuals",
            "half_width_years": model.conformal["q"] if model.conformal else None,
            **intervals,
        },
        "coverage": coverage,
        "intended_use": [
            "Research on immune ageing: compare immune age gaps between groups in a harmonised release.",
            "Not for clinical decisions about any individual.",
        ],
        "limits": [
            "Sites differ sharply in age range and site is partly confounded with age; per-site errors vary.",
            "Trained on CyTOF PBMC frequencies from 10KIP studies; other panels/gating need re-validation.",
            "Predictions regress toward the training mean (old under-, young over-predicted); the age gap "
            "correlates with age, so compare the age-adjusted gap.",
            "Subgroups with fewer than 5 participants are suppressed.",
        ],
    }
