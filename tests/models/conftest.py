"""Fixtures for model tests: a small synthetic cohort and a saved model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunome.models import fit_model, save_model

FEATURES = ["naive_cd8_t_cell", "cd8_t_cell", "naive_cd4_t_cell", "cd4_t_cell", "t_cell", "nk_cell"]


def synthetic_cohort(n: int = 90, *, seed: int = 0, sites: int = 3) -> pd.DataFrame:
    """Participants with age, site, sex and CyTOF-like % features that drift with age."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 90, n)
    df = pd.DataFrame(
        {
            "participant_id": [f"p{i:03d}" for i in range(n)],
            "site": np.repeat([f"S{k}" for k in range(sites)], int(np.ceil(n / sites)))[:n],
            "sex": rng.choice(["female", "male"], n),
            "age": age,
        }
    )
    df["t_cell"] = np.clip(60 - 0.1 * age + rng.normal(0, 5, n), 5, None)
    df["cd8_t_cell"] = np.clip(0.3 * df["t_cell"] + rng.normal(0, 2, n), 1, None)
    df["cd4_t_cell"] = np.clip(df["t_cell"] - df["cd8_t_cell"] - 3, 1, None)
    df["naive_cd8_t_cell"] = df["cd8_t_cell"] * np.exp(-age / 40) * rng.lognormal(0, 0.2, n)
    df["naive_cd4_t_cell"] = df["cd4_t_cell"] * np.exp(-age / 80) * rng.lognormal(0, 0.2, n)
    df["nk_cell"] = np.clip(3 + 0.05 * age + rng.normal(0, 1, n), 0.1, None)
    return df


@pytest.fixture(scope="session")
def features() -> list[str]:
    return list(FEATURES)


@pytest.fixture(scope="session")
def make_cohort():
    return synthetic_cohort


@pytest.fixture(scope="session")
def cohort_df() -> pd.DataFrame:
    return synthetic_cohort()


@pytest.fixture(scope="session")
def inputs(cohort_df) -> pd.DataFrame:
    """Prediction input: participant id + model features only (no unused columns)."""
    return cohort_df[["participant_id", *FEATURES]]


@pytest.fixture(scope="session")
def ridge_model(cohort_df):
    X = cohort_df[FEATURES]
    y = cohort_df["age"].to_numpy()
    return fit_model(
        X,
        y,
        spec={"kind": "ridge", "alpha": 1.0},
        name="age-ridge",
        conformal_residuals=np.full(10, 5.0),
        id_column="participant_id",
        release_id="r-test",
        assay="cytof_pbmc",
        layer="raw",
    )


@pytest.fixture()
def saved_model(tmp_path, ridge_model):
    return save_model(ridge_model, tmp_path / "registry")
