"""Train models from a release (:class:`immunome.Cohort`) with a small JSON/YAML spec.

Spec keys: ``task`` (``immune_age`` | ``vaccine_response``), ``name``/``prefix``, ``assay``,
``layer``, ``sites``/``exclude_sites``, ``nested`` (immune age), ``train_site`` and ``tasks``
(vaccine response). The fully resolved spec is written into every model card.

Example:
    >>> import immunome
    >>> cohort = immunome.open("store").release("latest")                      # doctest: +SKIP
    >>> [m.name for m in train(cohort, spec={"task": "immune_age"})]          # doctest: +SKIP
    ['immune-age']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from immunome.errors import ModelError
from immunome.models._immune_age import CITATION_10KIP, train_immune_age
from immunome.models._model import Model
from immunome.models._vaccine import load_tasks_table, train_vaccine_models

TASKS = ("immune_age", "vaccine_response")
# CMI-PB first-challenge tasks (cmipb/tasks.tsv): assay, fullname, fetchname, day.
CMIPB_TASKS = [
    ("abtiters", "IgG-PT", "IgG-PT", 14),
    ("abtiters", "IgG-FHA", "IgG-FHA", 14),
    ("abtiters", "IgG-PRN", "IgG-PRN", 14),
    ("abtiters", "IgG1-PT", "IgG1-PT", 14),
    ("abtiters", "IgG1-FHA", "IgG1-FHA", 14),
    ("abtiters", "IgG4-PT", "IgG4-PT", 14),
    ("abtiters", "IgG4-FHA", "IgG4-FHA", 14),
    ("cytof", "Monocytes", "Monocytes", 1),
    ("cytof", "Plasmablasts", "ASCs (Plasmablasts)", 7),
    ("cytof", "CD4Tcm", "CD4Tcells", 3),
    ("rnaseq", "CCL3", "ENSG00000277632", 3),
    ("rnaseq", "IL-6", "ENSG00000136244", 3),
    ("rnaseq", "NFKBIA", "ENSG00000100906", 7),
    ("rnaseq", "XIST", "ENSG00000229807", 14),
]
HEADLINE_TASKS = ("IgG-PT", "Monocytes", "CCL3")
CITATION_CMIPB = (
    "CMI-PB Consortium, Cell Reports Methods 2024; Shinde P et al., PLoS Comput Biol 2025 "
    "(CMI-PB pertussis booster challenge)."
)
DEFAULTS: dict[str, dict[str, Any]] = {
    "immune_age": {
        "name": "immune-age",
        "assay": "cytof_pbmc",
        "layer": "raw",
        "sites": None,
        "exclude_sites": [],
        "nested": False,
        "candidates": None,
    },
    "vaccine_response": {
        "prefix": "cmipb-",
        "layer": "raw",
        "train_site": "CMIPB2020",
        "tasks": None,
        "fold_change": True,
    },
}


def resolve_spec(spec: dict[str, Any] | None) -> dict[str, Any]:
    """Fill defaults; unknown keys or tasks are errors naming the allowed values."""
    spec = dict(spec or {"task": "immune_age"})
    task = spec.get("task", "immune_age")
    if task not in DEFAULTS:
        raise ModelError(f"unknown training task {task!r}", allowed=TASKS)
    unknown = sorted(set(spec) - set(DEFAULTS[task]) - {"task"})
    if unknown:
        raise ModelError(
            f"unknown key(s) in {task} spec: {', '.join(unknown)}", allowed=sorted(DEFAULTS[task])
        )
    return {"task": task, **DEFAULTS[task], **spec}


def _context(cohort: Any, **extra: Any) -> dict[str, Any]:
    return {"release_id": cohort.release_id, "protocol": "global-immunome-study", **extra}


def immune_age_data(cohort: Any, spec: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per participant (earliest sample): feature matrix and its obs (site, age, sex, race)."""
    X = cohort.matrix(spec["assay"], layer=spec["layer"])
    obs = cohort.obs(spec["assay"], layer=spec["layer"]).loc[X.index]
    keep = obs["age"].notna()
    if spec["sites"]:
        keep &= obs["site"].isin(spec["sites"])
    if spec["exclude_sites"]:
        keep &= ~obs["site"].isin(spec["exclude_sites"])
    obs = (
        obs[keep].assign(_day=lambda o: o["day"].fillna(0)).sort_values(["participant_id", "_day"])
    )
    obs = obs[~obs["participant_id"].duplicated()].drop(columns="_day")
    X = X.loc[obs.index]
    X = X.loc[:, X.notna().mean() >= 0.5]
    # order rows by content, not by store-keyed pseudonyms, so CV folds (and scores) are the
    # same in every store holding the same data
    h = pd.util.hash_pandas_object(
        X.reset_index(drop=True).join(obs[["age", "site"]].reset_index(drop=True)), index=False
    ).to_numpy()
    order = np.argsort(h, kind="stable")
    X, obs = X.iloc[order], obs.iloc[order]
    if len(X) < 30:
        raise ModelError(
            f"immune age: only {len(X)} participants with age and {spec['assay']} data (need ≥ 30)"
        )
    return X, obs


def _train_immune_age(cohort: Any, spec: dict[str, Any]) -> list[Model]:
    X, obs = immune_age_data(cohort, spec)
    feats = cohort.features
    units = dict(
        zip(
            feats.loc[feats["assay"] == spec["assay"], "feature"],
            feats.loc[feats["assay"] == spec["assay"], "unit"],
            strict=False,
        )
    )
    sites = sorted(obs["site"].unique().tolist())
    cites = [CITATION_10KIP] if any(str(s).startswith("SDY") for s in sites) else []
    model = train_immune_age(
        X.reset_index(drop=True),
        obs["age"].to_numpy(float),
        groups=obs["site"].to_numpy(),
        meta=obs.reset_index(drop=True),
        name=spec["name"],
        units=units,
        nested=spec["nested"],
        candidates=spec["candidates"],
        context=_context(
            cohort,
            assay=spec["assay"],
            layer=spec["layer"],
            sites=sites,
            id_column="participant_id",
            citations=cites,
        ),
    )
    model.card["spec"] = spec
    return [model]


def vaccine_data(
    cohort: Any, spec: dict[str, Any], *, site: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tidy measurements (participant_id, day, assay, feature, value) and participants of one site."""
    samples = cohort.samples
    t = cohort.tidy(layer=spec["layer"]).join(
        samples[["participant_id", "day", "site"]], on="sample_id"
    )
    t = t[t["site"] == site]
    if t.empty:
        raise ModelError(
            f"vaccine response: no measurements for site {site!r}",
            allowed=sorted(samples["site"].unique().tolist()),
        )
    parts = cohort.participants
    return t, parts[parts.index.isin(t["participant_id"].unique())]


def _train_vaccine(cohort: Any, spec: dict[str, Any]) -> list[Model]:
    rows = spec["tasks"] or [
        dict(zip(("assay", "fullname", "fetchname", "day"), r, strict=True)) for r in CMIPB_TASKS
    ]
    tasks = load_tasks_table(rows, fold_change=spec["fold_change"])
    tidy, parts = vaccine_data(cohort, spec, site=spec["train_site"])
    models, table = train_vaccine_models(
        tidy,
        parts,
        tasks,
        prefix=spec["prefix"],
        citations=[CITATION_CMIPB],
        context=_context(cohort, sites=[spec["train_site"]], layer=spec["layer"]),
    )
    for m in models:
        m.card["spec"] = spec
        m.card["all_tasks"] = table.replace({np.nan: None}).to_dict("records")
    return models


def train(cohort: Any, *, spec: dict[str, Any] | None = None) -> list[Model]:
    """Train the model(s) a spec describes on a release; returns a list of :class:`Model`."""
    spec = resolve_spec(spec)
    return (
        _train_immune_age(cohort, spec)
        if spec["task"] == "immune_age"
        else _train_vaccine(cohort, spec)
    )
