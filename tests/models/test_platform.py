"""Immune age through the platform: bundles → store → release → Cohort → train → registry → predict bundle."""

from __future__ import annotations

import warnings

import pytest
import yaml

from immunome.errors import ModelError
from immunome.models import load_model, predict, resolve_spec, train, train_demo_models
from immunome.store import open_store


def _write_bundle(folder, site, df, features):
    folder.mkdir(parents=True)
    df = df.assign(sample_id=df["participant_id"] + "-D0")
    df[["participant_id", "age", "sex"]].to_csv(folder / "participants.csv", index=False)
    df.assign(day=0, visit="baseline")[["sample_id", "participant_id", "day", "visit"]].to_csv(
        folder / "samples.csv", index=False
    )
    df[["sample_id", *features]].to_csv(folder / "cytof_pbmc.csv", index=False)
    manifest = {
        "format": "immunome-bundle/1",
        "site": site,
        "protocol": "global-immunome-study",
        "protocol_version": 1,
        "participants": "participants.csv",
        "samples": "samples.csv",
        "assays": [{"file": "cytof_pbmc.csv", "assay": "cytof_pbmc", "layout": "wide"}],
    }
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest))
    return folder


@pytest.fixture(scope="module")
def store(tmp_path_factory, make_cohort, features):
    root = tmp_path_factory.mktemp("platform")
    st = open_store(root / "store")
    df = make_cohort(120, sites=4)
    for site, part in df.groupby("site"):
        st.submit(_write_bundle(root / "bundles" / site, f"SITE{site}", part, features))
    st.create_release()
    return st, df, root


def test_train_from_cohort_uses_release_and_protocol_ids(store):
    st, _, _ = store
    cohort = st.release("latest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        [m] = train(
            cohort,
            spec={
                "task": "immune_age",
                "candidates": {
                    "ridge+svr": {
                        "kind": "ensemble",
                        "members": [{"kind": "ridge"}, {"kind": "svr"}],
                    }
                },
            },
        )
    assert m.schema["release_id"] == cohort.release_id
    assert m.schema["layer"] == "raw" and m.schema["assay"] == "cytof_pbmc"
    assert m.card["data"]["n_sites"] == 4
    derived = [d["name"] for d in m.schema["derived"]]
    assert "log_ratio_naive_cd8" in derived  # ratio features found under protocol ids
    assert m.card["spec"]["task"] == "immune_age"


def test_demo_models_and_predict_on_bundle(store):
    st, df, root = store
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = train_demo_models(st)
    [row] = rows
    assert row["task"] == "immune age" and row["value"] < row["baselines"]["training_mean"]
    assert (st.path / "models" / "immune-age" / "1" / "manifest.json").exists()
    m = load_model(st.path, "immune-age")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = predict(m, root / "bundles" / "S0")
    assert len(out) == (df["site"] == "S0").sum()
    assert set(out["participant_id"]) == set(
        df.loc[df["site"] == "S0", "participant_id"]
    )  # raw bundle ids


def test_spec_errors_name_allowed_values():
    with pytest.raises(ModelError, match="unknown training task"):
        resolve_spec({"task": "astrology"})
    with pytest.raises(ModelError, match="unknown key"):
        resolve_spec({"task": "immune_age", "colour": "red"})
