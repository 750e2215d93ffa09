"""Predictive immune models with a safe, versioned registry and model cards.

Example:
    >>> import immunome
    >>> from immunome.models import train, save_model, load_model, predict
    >>> cohort = immunome.open("store").release("latest")              # doctest: +SKIP
    >>> [model] = train(cohort, spec={"task": "immune_age"})           # doctest: +SKIP
    >>> save_model(model, "store")                                      # doctest: +SKIP
    >>> predict(load_model("store", "immune-age"), "new.csv")           # doctest: +SKIP
"""

from __future__ import annotations

from immunome.models._card import render_card_markdown
from immunome.models._demo import train_demo_models
from immunome.models._estimators import KINDS, make_estimator
from immunome.models._immune_age import evaluate_candidates, train_immune_age
from immunome.models._metrics import regression_metrics, subgroup_metrics
from immunome.models._model import Model, conformal_quantile, fit_model
from immunome.models._predict import predict, read_input
from immunome.models._registry import list_models, load_model, save_model, verify_model_dir
from immunome.models._schema import build_schema, encode
from immunome.models._splits import Split, check_splits, cross_predict, kfold_splits, loso_splits
from immunome.models._train import resolve_spec, train
from immunome.models._vaccine import Task, load_tasks, train_vaccine_models

__all__ = [
    "KINDS",
    "Model",
    "Split",
    "Task",
    "build_schema",
    "check_splits",
    "conformal_quantile",
    "cross_predict",
    "encode",
    "evaluate_candidates",
    "fit_model",
    "kfold_splits",
    "list_models",
    "load_model",
    "load_tasks",
    "loso_splits",
    "make_estimator",
    "predict",
    "read_input",
    "regression_metrics",
    "render_card_markdown",
    "resolve_spec",
    "save_model",
    "subgroup_metrics",
    "train",
    "train_demo_models",
    "train_immune_age",
    "train_vaccine_models",
    "verify_model_dir",
]
