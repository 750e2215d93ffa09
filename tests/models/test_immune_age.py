"""Immune age on real 10KIP CyTOF: LOSO and 5-fold, baselines, intervals, model card, registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunome.models import load_model, save_model, train_immune_age

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tenkip(require_data) -> pd.DataFrame:
    return pd.read_csv(require_data("10kip/CyTOF_PBMC/cytof_pbmc_formatted.csv"))


@pytest.fixture(scope="module")
def model(tenkip):
    feats = list(tenkip.columns[5:])
    return train_immune_age(
        tenkip[feats],
        tenkip["age"].to_numpy(),
        groups=tenkip["study_accession"].to_numpy(),
        meta=tenkip.rename(columns={"gender": "sex"}),
        context={"release_id": "r-10kip-files"},
    )


def test_chosen_model_beats_ridge_on_log_features(model):
    h = model.card["headline"]
    table = {r["model"]: r for r in model.card["metrics_table"]}
    assert 12.0 <= table["ridge_log"]["loso_mae"] <= 13.5  # the reference ridge (~12.9 y)
    assert h["loso_mae"] <= 11.9
    assert h["loso_mae"] <= 0.92 * h["baseline_ridge_log_loso_mae"]
    assert h["loso_mae"] < h["baseline_mean_loso_mae"]
    chosen = [r["model"] for r in model.card["metrics_table"] if r["role"] == "chosen"]
    assert chosen == [model.card["algorithm"]["name"]]
    # choice is by LOSO MAE among the non-baseline candidates
    cands = [r for r in model.card["metrics_table"] if r["role"] != "baseline"]
    assert min(cands, key=lambda r: r["loso_mae"])["model"] == chosen[0]
    assert {"lightgbm", "elasticnet"} <= set(table)


def test_loso_interval_coverage_near_nominal(model):
    cov = model.card["intervals"]["loso_coverage"]
    assert 0.85 <= cov <= 0.95
    per = [c for c in model.card["coverage"] if c["scheme"] == "loso"]
    assert len(per) == 9 and all(0 <= c["coverage"] <= 1 for c in per)


def test_card_reports_sites_subgroups_and_gap(model):
    card = model.card
    sites = {r["level"]: r for r in card["per_site"]}
    assert sites["SDY305"]["suppressed"] is True  # n = 1 < 5
    assert sites["SDY420"]["n"] == 254 and sites["SDY420"]["mae"] > 0
    variables = {r["variable"] for r in card["subgroups"]}
    assert {"site", "sex", "race", "age_band"} <= variables
    assert all(r["n"] is None for r in card["subgroups"] if r["suppressed"])
    assert "sex" in card["gap_association"] and "site" in card["gap_association"]
    assert card["data"]["citations"] and "10,000 Immunomes" in card["data"]["citations"][0]


def test_saved_model_predicts_new_csv(model, tenkip, tmp_path):
    folder = save_model(model, tmp_path)
    assert (
        "Leave" in (folder / "card.md").read_text()
        or "leave-one-site-out" in (folder / "card.md").read_text()
    )
    csv = tmp_path / "new.csv"
    tenkip.head(20).rename(columns={"subject_accession": "participant_id"}).to_csv(csv, index=False)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = load_model(folder).predict(pd.read_csv(csv))
    assert len(out) == 20 and np.isfinite(out["prediction"]).all()
    assert (out["upper"] > out["lower"]).all()
