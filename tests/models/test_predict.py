"""Predict on new data: schema checks, unknown columns, imputation policy, OOD flags, determinism."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from immunome.cli import app
from immunome.errors import OutOfDistributionWarning, SchemaMismatchError, UnknownColumnWarning
from immunome.models import fit_model, load_model, predict, save_model


def test_missing_required_feature_is_named(saved_model, cohort_df, tmp_path):
    csv = tmp_path / "new.csv"
    cohort_df.drop(columns=["naive_cd8_t_cell"]).to_csv(csv, index=False)
    with pytest.raises(SchemaMismatchError) as e:
        predict(load_model(saved_model), csv)
    assert "naive_cd8_t_cell" in str(e.value)
    assert e.value.context["missing"] == ["naive_cd8_t_cell"]


def test_missing_cell_without_policy_names_line_and_column(ridge_model, cohort_df):
    df = cohort_df.copy()
    df.loc[3, "nk_cell"] = np.nan
    with pytest.raises(SchemaMismatchError, match=r"line 5, column 'nk_cell'"):
        ridge_model.predict(df)


def test_non_numeric_value_is_an_error(ridge_model, cohort_df):
    df = cohort_df.astype({"t_cell": object})
    df.loc[0, "t_cell"] = "high"
    with pytest.raises(SchemaMismatchError, match=r"line 2, column 't_cell'.*not a number"):
        ridge_model.predict(df)


def test_imputation_policy_lists_imputed_columns(cohort_df, features):
    m = fit_model(
        cohort_df[features],
        cohort_df["age"].to_numpy(),
        spec={"kind": "ridge"},
        name="imp",
        imputation="median",
    )
    new = cohort_df[["participant_id", *features]].drop(columns=["nk_cell"]).head(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfDistributionWarning)
        out = m.predict(new)
    assert out.attrs["imputed_columns"] == ["nk_cell"]
    assert (out["imputed"] == "nk_cell").all()
    assert out["prediction"].notna().all()


def test_unknown_columns_ignored_with_warning(ridge_model, cohort_df, features):
    df = cohort_df[["participant_id", *features]].assign(favourite_colour="blue")
    with pytest.warns(UnknownColumnWarning, match="favourite_colour"):
        out = ridge_model.predict(df)
    assert out.attrs["ignored_columns"] == ["favourite_colour"]
    assert len(out) == len(df)


def test_out_of_distribution_rows_flagged(ridge_model, cohort_df, features):
    df = cohort_df[["participant_id", *features]].head(5).copy()
    df.loc[2, "nk_cell"] = 1e6
    with pytest.warns(OutOfDistributionWarning):
        out = ridge_model.predict(df)
    assert out["ood"].tolist() == [False, False, True, False, False]
    assert out.loc[2, "ood_features"] == "nk_cell"


def test_output_has_interval_and_rank(ridge_model, cohort_df, features):
    out = ridge_model.predict(cohort_df[["participant_id", *features]])
    assert list(out.columns[:5]) == ["participant_id", "prediction", "lower", "upper", "rank"]
    assert np.allclose(out["upper"] - out["lower"], 10.0)
    assert out.loc[out["prediction"].idxmax(), "rank"] == 1


def test_two_cli_predict_runs_are_identical(saved_model, cohort_df, features, tmp_path):
    csv = tmp_path / "new.csv"
    cohort_df[["participant_id", *features]].to_csv(csv, index=False)
    outs = []
    for k in range(2):
        out = tmp_path / f"pred{k}.tsv"
        r = CliRunner().invoke(
            app, ["model", "predict", str(saved_model), str(csv), "--out", str(out)]
        )
        assert r.exit_code == 0, r.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert len(pd.read_csv(tmp_path / "pred0.tsv", sep="\t")) == len(cohort_df)


def test_two_trainings_give_identical_artifacts(tmp_path, cohort_df, features):
    spec = {
        "kind": "ensemble",
        "members": [
            {"kind": "svr"},
            {"kind": "lightgbm", "n_estimators": 30},
            {"kind": "elasticnet"},
        ],
    }
    folders = [
        save_model(
            fit_model(cohort_df[features], cohort_df["age"].to_numpy(), spec=spec, name="det"),
            tmp_path / f"r{k}",
        )
        for k in range(2)
    ]
    for f in ("estimator.json", "m1_lightgbm.txt", "schema.json"):
        assert (folders[0] / f).read_bytes() == (folders[1] / f).read_bytes()


def test_unknown_category_is_an_error(cohort_df, features):
    m = fit_model(
        cohort_df[[*features, "sex"]],
        cohort_df["age"].to_numpy(),
        spec={"kind": "ridge"},
        name="c",
        categories={"sex": ["female", "male"]},
    )
    df = cohort_df[[*features, "sex"]].head(3).assign(sex=["female", "male", "other"])
    with pytest.raises(SchemaMismatchError, match="'sex'.*other"):
        m.predict(df)


def test_cli_show_and_evaluate_on_labelled_csv(saved_model, cohort_df, features, tmp_path):
    csv = tmp_path / "labelled.csv"
    cohort_df[["participant_id", "age", *features]].to_csv(csv, index=False)
    r = CliRunner().invoke(
        app, ["model", "evaluate", str(saved_model), str(csv), "--target", "age"]
    )
    assert r.exit_code == 0, r.output
    metrics = json.loads(r.output[r.output.index("{") :])
    assert metrics["n"] == len(cohort_df) and metrics["mae"] < 15 and "coverage" in metrics
    r = CliRunner().invoke(app, ["model", "show", str(saved_model), "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output) == load_model(saved_model).card
