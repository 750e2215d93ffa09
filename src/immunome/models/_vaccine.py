"""Vaccine response (CMI-PB): one model per challenge task, from day-0 (baseline) data.

Inputs are tidy measurements (participant_id, day, assay, feature, value) plus a participant
table (age, sex, infancy_vaccine). Each task (e.g. IgG-PT at day 14) is modelled as the value at
that day and as the log2 fold change over day 0. Cross-validated Spearman ρ on the training
cohort is reported beside three baselines: carry-forward (the day-0 value of the same readout),
demographics only, and LASSO on demographics + the day-0 task readouts (CMI-PB's reference).

Example:
    >>> tasks = load_tasks_table([{"assay": "abtiters", "fullname": "IgG-PT", "fetchname": "IgG-PT", "day": 14}])
    >>> tasks[0].name
    'igg_pt-d14'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from immunome.errors import ModelError
from immunome.models._metrics import spearman
from immunome.models._model import Model, fit_model
from immunome.models._splits import cross_predict, kfold_splits

ASSAY_OF_TASK = {
    "abtiters": "antibody_titer_mfi",
    "cytof": "cytof_pbmc",
    "rnaseq": "rnaseq",
    "olink": "olink",
}
DEMOGRAPHICS = ["age", "sex", "infancy_vaccine"]
CANDIDATES: dict[str, dict[str, Any]] = {
    "elasticnet": {"kind": "elasticnet", "l1_ratio": 0.5},
    "ridge": {"kind": "ridge", "alpha": 10.0},
    "own_day0": {"kind": "ridge", "alpha": 1.0},  # ridge on the same readout's day-0 value only
}
OWN_ONLY = ("own_day0",)
LASSO = {"kind": "lasso"}
DEMO_MODEL = {"kind": "ridge", "alpha": 1.0}
PSEUDO = 1.0  # pseudo-count for log2 fold changes


@dataclass(frozen=True)
class Task:
    """A challenge task: ``feature`` of ``assay`` at ``day`` (``fold_change`` = log2 ratio to day 0)."""

    label: str
    assay: str
    feature: str
    day: int
    fold_change: bool = False

    @property
    def name(self) -> str:
        """Registry-safe name, e.g. ``igg_pt-d14`` or ``igg_pt-d14-fc``."""
        slug = re.sub(r"[^a-z0-9]+", "_", self.label.lower()).strip("_")
        return f"{slug}-d{self.day}" + ("-fc" if self.fold_change else "")

    @property
    def column(self) -> str:
        """Model input column holding this readout's day-0 value."""
        return f"{self.assay}:{self.feature}"


def _feature_id(assay: str, name: str) -> str:
    from immunome.protocol import load_protocol

    a = next((a for a in load_protocol("global-immunome-study").assays if a.id == assay), None)
    f = a.feature(name) if a else None
    return f.id if f else name


def load_tasks_table(rows: list[dict[str, Any]], *, fold_change: bool = True) -> list[Task]:
    """Tasks from ``tasks.tsv`` rows (assay, fullname, fetchname, day); adds the fold-change twin."""
    out = []
    for r in rows:
        assay = ASSAY_OF_TASK.get(str(r["assay"]))
        if assay is None:
            raise ModelError(
                f"tasks table: unknown assay {r['assay']!r}", allowed=list(ASSAY_OF_TASK)
            )
        t = Task(str(r["fullname"]), assay, _feature_id(assay, str(r["fetchname"])), int(r["day"]))
        out += [t, Task(t.label, t.assay, t.feature, t.day, True)] if fold_change else [t]
    return out


def load_tasks(path: str | Path, *, fold_change: bool = True) -> list[Task]:
    """Read CMI-PB ``tasks.tsv``."""
    return load_tasks_table(pd.read_csv(path, sep="\t").to_dict("records"), fold_change=fold_change)


def _log(assay: str) -> bool:
    return assay in ("antibody_titer_mfi", "rnaseq", "cytof_pbmc")


def readout(tidy: pd.DataFrame, assay: str, feature: str, day: int) -> pd.Series:
    """Value of one readout at ``day`` per participant (first if repeated)."""
    m = tidy[(tidy["assay"] == assay) & (tidy["feature"] == feature) & (tidy["day"] == day)]
    return m.groupby("participant_id")["value"].first().astype(float)


def baseline_table(
    tidy: pd.DataFrame, participants: pd.DataFrame, *, day: int = 0, assays: list[str] | None = None
) -> pd.DataFrame:
    """Participants × ``<assay>:<feature>`` day-0 values, with age, sex, infancy_vaccine columns."""
    t = tidy[tidy["day"] == day]
    if assays is not None:
        t = t[t["assay"].isin(assays)]
    wide = t.assign(col=t["assay"] + ":" + t["feature"]).pivot_table(
        index="participant_id", columns="col", values="value", aggfunc="first"
    )
    demo = participants.reindex(wide.index)[
        [c for c in DEMOGRAPHICS if c in participants.columns]
    ].copy()
    for c in ("sex", "infancy_vaccine"):
        if c in demo.columns:
            demo[c] = demo[c].astype("string").str.strip().str.lower().fillna("unknown")
    out = demo.join(wide)
    out.columns.name = None
    out.index.name = "participant_id"
    return out


def target(tidy: pd.DataFrame, task: Task) -> pd.Series:
    """Task target per participant: log1p value at day (or log2 fold change over day 0)."""
    v = readout(tidy, task.assay, task.feature, task.day)
    if task.fold_change:
        v0 = readout(tidy, task.assay, task.feature, 0)
        return np.log2((v + PSEUDO) / (v0.reindex(v.index) + PSEUDO)).dropna()
    return (np.log1p(v.clip(lower=0)) if _log(task.assay) else v).dropna()


def _transforms(cols: list[str]) -> dict[str, str]:
    return {c: ("log1p" if ":" in c and _log(c.split(":")[0]) else "identity") for c in cols}


def _levels(X: pd.DataFrame) -> dict[str, list[str]]:
    return {
        c: sorted(X[c].dropna().unique().tolist())
        for c in ("sex", "infancy_vaccine")
        if c in X.columns
    }


def _cv_spearman(
    X: pd.DataFrame, y: np.ndarray, spec: dict[str, Any], cats: dict[str, list[str]], *, seed: int
) -> tuple[float | None, np.ndarray]:
    from immunome.models._estimators import make_estimator
    from immunome.models._schema import build_schema, training_matrix

    schema = build_schema(X, transforms=_transforms(list(X.columns)), categories=cats)
    M = training_matrix(X, schema)
    splits = kfold_splits(y, n_splits=min(5, len(y) // 4), seed=seed)
    pred, _ = cross_predict(lambda: make_estimator({**spec, "seed": seed}), M, y, splits)
    return spearman(y, pred), pred


def evaluate_task(
    base: pd.DataFrame,
    tidy: pd.DataFrame,
    task: Task,
    *,
    reference: list[str],
    extra: list[str],
    seed: int = 0,
) -> dict[str, Any]:
    """CV Spearman of every candidate and baseline for one task (rows with a target only)."""
    y_s = target(tidy, task)
    rows = base.index.intersection(y_s.index)
    if len(rows) < 12:
        raise ModelError(
            f"task {task.name}: only {len(rows)} participants with a target (need ≥ 12)"
        )
    y = y_s.loc[rows].to_numpy(float)
    B = base.loc[rows]
    cats = _levels(B)
    demo = [c for c in DEMOGRAPHICS if c in B.columns]
    own = B[task.column] if task.column in B.columns else pd.Series(np.nan, index=rows)
    res: dict[str, Any] = {
        "task": task.name,
        "label": task.label,
        "day": task.day,
        "fold_change": task.fold_change,
        "n": int(len(rows)),
        "spearman": {},
    }
    ok = own.notna().to_numpy()
    res["spearman"]["carry_forward"] = (
        spearman(own.to_numpy(float)[ok], y[ok]) if ok.sum() >= 3 else None
    )
    demo_cats = {k: v for k, v in cats.items() if k in demo}
    res["spearman"]["demographics"] = _cv_spearman(B[demo], y, DEMO_MODEL, demo_cats, seed=seed)[0]
    ref_cols = demo + [c for c in reference if c in B.columns]
    res["spearman"]["lasso_baselines"] = _cv_spearman(B[ref_cols], y, LASSO, demo_cats, seed=seed)[
        0
    ]
    cols = list(dict.fromkeys(ref_cols + [c for c in extra if c in B.columns]))
    for name, spec in CANDIDATES.items():
        use = [task.column] if name in OWN_ONLY else cols
        res["spearman"][name] = _cv_spearman(
            B[use], y, spec, demo_cats if name not in OWN_ONLY else {}, seed=seed
        )[0]
    res["features"] = cols
    res["reference_features"] = ref_cols
    return res


def _task_extra(base: pd.DataFrame, task: Task, *, max_missing: float = 0.2) -> list[str]:
    """Day-0 features of the task's own assay measured in most participants."""
    cols = [c for c in base.columns if c.startswith(task.assay + ":")]
    return [c for c in cols if base[c].isna().mean() <= max_missing]


def _content_order(base: pd.DataFrame) -> pd.DataFrame:
    """Order participants by a hash of their baseline *values*, not their (store-keyed) pseudonyms,
    so cross-validation folds — and so every reported score — are the same in every store.
    """
    h = pd.util.hash_pandas_object(base.reset_index(drop=True), index=False).to_numpy()
    return base.iloc[np.argsort(h, kind="stable")]


def train_vaccine_models(
    tidy: pd.DataFrame,
    participants: pd.DataFrame,
    tasks: list[Task],
    *,
    context: dict[str, Any] | None = None,
    seed: int = 0,
    prefix: str = "cmipb-",
    citations: list[str] | None = None,
) -> tuple[list[Model], pd.DataFrame]:
    """Evaluate and fit one model per task on the training cohort; returns models + Spearman table."""
    base = _content_order(baseline_table(tidy, participants))
    reference = list(dict.fromkeys(t.column for t in tasks))
    models, table = [], []
    for task in tasks:
        if task.column not in base.columns:
            table.append({"task": task.name, "n": 0, "note": f"no day-0 {task.column} in the data"})
            continue
        try:
            res = evaluate_task(
                base, tidy, task, reference=reference, extra=_task_extra(base, task), seed=seed
            )
        except ModelError as e:
            table.append({"task": task.name, "n": 0, "note": str(e)})
            continue
        chosen = max(
            CANDIDATES, key=lambda n: -np.inf if res["spearman"][n] is None else res["spearman"][n]
        )
        y_s = target(tidy, task)
        rows = base.index.intersection(y_s.index)
        X = base.loc[rows, [task.column] if chosen in OWN_ONLY else res["features"]]
        cats = {k: v for k, v in _levels(X).items()}
        model = fit_model(
            X,
            y_s.loc[rows].to_numpy(float),
            spec=CANDIDATES[chosen],
            name=prefix + task.name,
            transform="identity",
            transforms=_transforms(list(X.columns)),
            categories=cats,
            imputation="median",
            level="participant",
            baseline_day=0,
            id_column="participant_id",
            target={
                "label": task.label,
                "assay": task.assay,
                "feature": task.feature,
                "day": task.day,
                "fold_change": task.fold_change,
                "scale": "log2 fold change"
                if task.fold_change
                else ("log1p" if _log(task.assay) else "linear"),
            },
            **(context or {}),
        )
        model.card = vaccine_card(model, task, res, chosen, citations=citations)
        models.append(model)
        table.append({"task": task.name, "n": res["n"], **res["spearman"], "chosen": chosen})
    return models, pd.DataFrame(table)


def vaccine_card(
    model: Model, task: Task, res: dict[str, Any], chosen: str, *, citations: list[str] | None
) -> dict[str, Any]:
    """Model card of one CMI-PB task model."""
    sp = res["spearman"]
    rows = [
        {
            "model": k,
            "role": "chosen" if k == chosen else ("candidate" if k in CANDIDATES else "baseline"),
            "cv_spearman": v,
        }
        for k, v in sp.items()
    ]
    what = "log2 fold change over day 0 of" if task.fold_change else "value (log scale) of"
    return {
        "format": "immunome-model-card/1",
        "name": model.name,
        "task": f"vaccine response: rank participants by {what} {task.label} at day {task.day} after Tdap boost",
        "target": model.schema.get("target"),
        "summary": (
            f"Chosen: {chosen} (highest 5-fold CV Spearman among {list(CANDIDATES)} on the training cohort; "
            "selection uses the same folds, so its ρ is optimistic — compare with the baselines). own_day0 = ridge on "
            "the day-0 value of the same readout (a fitted carry-forward whose sign is learnt)."
        ),
        "headline": {
            "cv_spearman": sp[chosen],
            "carry_forward": sp["carry_forward"],
            "lasso_baselines": sp["lasso_baselines"],
            "demographics": sp["demographics"],
            "n": res["n"],
        },
        "data": {
            "release_id": model.schema.get("release_id"),
            "sites": model.schema.get("sites"),
            "n_participants": res["n"],
            "citations": citations or [],
        },
        "features": [f["name"] for f in model.schema["features"]]
        + list(model.schema.get("categories", {})),
        "algorithm": {
            "name": chosen,
            "spec": CANDIDATES[chosen],
            "evaluation": "5-fold CV (seed 0), Spearman ρ of out-of-fold predictions",
            "imputation": "training median for missing baseline features",
        },
        "metrics_table": rows,
        "intended_use": [
            "Research: rank vaccinees by expected response, as in the CMI-PB prediction challenge."
        ],
        "limits": [
            "Small training cohort (tens of participants); ρ has wide uncertainty.",
            "Predictions are on the target's transformed scale; only the ranking is meant to be used.",
            "Different assay batches/panels between cohorts (e.g. 2021 Olink panel) shift inputs; "
            "see the ood column of predictions.",
        ],
    }
