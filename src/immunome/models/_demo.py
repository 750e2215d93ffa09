"""``train_demo_models``: train immune age (10KIP) and vaccine response (CMI-PB) on a store's release.

Example:
    >>> from immunome.models import train_demo_models
    >>> for row in train_demo_models("demo-store"):   # doctest: +SKIP
    ...     print(row["model"], row["metric"], row["value"], row["baselines"])
"""

from __future__ import annotations

from typing import Any

from immunome.models._registry import save_model
from immunome.models._train import HEADLINE_TASKS, train

CMIPB_SITES = ("CMIPB2020", "CMIPB2021")


def _open(store: Any):
    if hasattr(store, "release"):
        return store
    from immunome.store import open_store

    return open_store(store)


def train_demo_models(
    store: Any, *, release: str = "latest", save: bool = True, all_tasks: bool = False
) -> list[dict[str, Any]]:
    """Train both demo models and return headline metrics beside baselines (one dict per model).

    Immune age is trained when the release has ``cytof_pbmc`` with age at ≥ 3 non-CMI-PB sites;
    vaccine response when CMI-PB was imported (headline tasks only unless ``all_tasks``).
    Models are saved to ``<store>/models`` when ``save``.
    """
    st = _open(store)
    cohort = st.release(release)
    sites = set(cohort.samples["site"].unique().tolist())
    out: list[dict[str, Any]] = []
    if "cytof_pbmc" in cohort.assays and len(sites - set(CMIPB_SITES)) >= 3:
        for m in train(cohort, spec={"task": "immune_age", "exclude_sites": list(CMIPB_SITES)}):
            h = m.card["headline"]
            if save:
                save_model(m, st.path if hasattr(st, "path") else store)
            out.append(
                {
                    "model": m.name,
                    "version": m.version,
                    "task": "immune age",
                    "metric": "leave-one-site-out MAE (years)",
                    "value": h["loso_mae"],
                    "r": h["loso_r"],
                    "interval_coverage_90": h["loso_interval_coverage"],
                    "baselines": {
                        "ridge_log": h["baseline_ridge_log_loso_mae"],
                        "training_mean": h["baseline_mean_loso_mae"],
                    },
                }
            )
    if "CMIPB2020" in sites:
        from immunome.models._train import CMIPB_TASKS

        rows = [
            dict(zip(("assay", "fullname", "fetchname", "day"), r, strict=True))
            for r in CMIPB_TASKS
            if all_tasks or r[1] in HEADLINE_TASKS
        ]
        for m in train(cohort, spec={"task": "vaccine_response", "tasks": rows}):
            h = m.card["headline"]
            if save:
                save_model(m, st.path if hasattr(st, "path") else store)
            out.append(
                {
                    "model": m.name,
                    "version": m.version,
                    "task": "vaccine response",
                    "metric": "5-fold CV Spearman (CMI-PB 2020)",
                    "value": h["cv_spearman"],
                    "baselines": {
                        "carry_forward": h["carry_forward"],
                        "lasso_baselines": h["lasso_baselines"],
                        "demographics": h["demographics"],
                    },
                }
            )
    return out
