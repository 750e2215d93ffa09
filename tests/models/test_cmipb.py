"""CMI-PB end to end: import through the submission path, train on 2020, predict 2021 with the CLI."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from typer.testing import CliRunner

from immunome.cli import app
from immunome.datasets._cmipb import import_cmipb, read_tidy
from immunome.models import load_tasks, save_model, train, train_vaccine_models
from immunome.models._train import CMIPB_TASKS, HEADLINE_TASKS
from immunome.store import open_store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def imported(require_data, tmp_path_factory):
    data = require_data("cmipb")
    require_data("cmipb/full/meta.2021.pivoted.tsv")
    root = tmp_path_factory.mktemp("cmipb")
    store = open_store(root / "store")
    report = import_cmipb(store, data, work_dir=root / "bundles", rnaseq_genes=20)
    store.create_release()
    return store, report, root


def test_import_two_sites_all_timepoints(imported):
    store, report, _ = imported
    assert report.sites["CMIPB2020"]["status"] == "ingested"
    assert report.sites["CMIPB2021"]["participants"] == 36
    assert report.sites["CMIPB2021"]["days"] == [0]
    assert {0, 1, 3, 7, 14, 30, 90} <= set(report.sites["CMIPB2020"]["days"])
    cohort = store.release("latest")
    assert {"antibody_titer_mfi", "cytof_pbmc", "olink", "rnaseq"} <= set(cohort.assays)
    assert set(cohort.samples["site"]) == {"CMIPB2020", "CMIPB2021"}
    genes = set(cohort.features.loc[cohort.features["assay"] == "rnaseq", "feature"])
    assert "ENSG00000277632" in genes  # CCL3 task gene always imported


def test_train_from_release_and_predict_2021_with_cli(imported, tmp_path):
    store, report, _ = imported
    rows = [
        dict(zip(("assay", "fullname", "fetchname", "day"), r, strict=True))
        for r in CMIPB_TASKS
        if r[1] in HEADLINE_TASKS
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = train(store.release("latest"), spec={"task": "vaccine_response", "tasks": rows})
    names = sorted(m.name for m in models)
    assert names == sorted(
        [
            "cmipb-igg_pt-d14",
            "cmipb-igg_pt-d14-fc",
            "cmipb-monocytes-d1",
            "cmipb-monocytes-d1-fc",
            "cmipb-ccl3-d3",
            "cmipb-ccl3-d3-fc",
        ]
    )
    for m in models:
        save_model(m, store.path)
        h = m.card["headline"]
        assert {"cv_spearman", "carry_forward", "lasso_baselines", "demographics"} <= set(h)
        assert m.card["data"]["release_id"] == store.release("latest").release_id
    out_dir = tmp_path / "pred"
    r = CliRunner().invoke(
        app,
        [
            "model",
            "predict",
            "cmipb-",
            report.sites["CMIPB2021"]["bundle"],
            "--all",
            "--out-dir",
            str(out_dir),
            "--store",
            str(store.path),
        ],
    )
    assert r.exit_code == 0, r.output
    files = sorted(out_dir.glob("*.tsv"))
    assert len(files) == 6
    for f in files:
        t = pd.read_csv(f, sep="\t", dtype={"participant_id": str})
        assert len(t) == 36 and t["participant_id"].nunique() == 36
        assert sorted(t["rank"].tolist())[0] == 1 and t["prediction"].notna().all()
    r = CliRunner().invoke(app, ["model", "show", "cmipb-igg_pt-d14", "--store", str(store.path)])
    assert r.exit_code == 0 and "carry_forward" in r.output
    r = CliRunner().invoke(app, ["model", "list", "--store", str(store.path)])
    assert r.exit_code == 0 and "cmipb-ccl3-d3-fc" in r.output


def test_all_tasks_table_from_files(require_data):
    """All 14 tasks from the 2020 files (no store): Spearman beside the baselines.

    Fold-change twins are covered by the release-based test above (headline tasks).
    """
    tidy, parts = read_tidy(
        require_data("cmipb"),
        "2020",
        genes=["ENSG00000277632", "ENSG00000136244", "ENSG00000100906", "ENSG00000229807"],
    )
    assert len(load_tasks(require_data("cmipb/tasks.tsv"))) == 28  # 14 tasks x (value, fold change)
    tasks = load_tasks(require_data("cmipb/tasks.tsv"), fold_change=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models, table = train_vaccine_models(tidy, parts, tasks)
    assert len(models) == 14
    assert {
        "carry_forward",
        "demographics",
        "lasso_baselines",
        "elasticnet",
        "ridge",
        "own_day0",
    } <= set(table)
    row = table.set_index("task").loc["igg_pt-d14"]
    assert row["n"] >= 50 and row["carry_forward"] > 0.3


def test_cv_scores_do_not_depend_on_pseudonyms(require_data):
    """Folds follow the participants' baseline values, not their store-keyed IDs: relabelling
    every participant (as a store with another secret key would) leaves every score unchanged."""
    tidy, parts = read_tidy(require_data("cmipb"), "2020", genes=["ENSG00000277632"])
    tasks = [t for t in load_tasks(require_data("cmipb/tasks.tsv")) if "igg_pt" in t.name]
    relabel = {p: f"Z{i:04d}" for i, p in enumerate(sorted(parts.index, reverse=True))}
    tidy2 = tidy.assign(participant_id=tidy["participant_id"].map(relabel))
    parts2 = parts.rename(index=relabel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, a = train_vaccine_models(tidy, parts, tasks)
        _, b = train_vaccine_models(tidy2, parts2, tasks)
    pd.testing.assert_frame_equal(a, b)
