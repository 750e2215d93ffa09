"""Integration with the real store: harmonised layer in a derived release, frozen apply after a
new site joins, report and CLI — on real 10KIP CyTOF rows submitted as per-site bundles."""

from __future__ import annotations

import json
import shutil
import warnings

import pytest
from harmonize_bundles import write_cytof_bundles
from typer.testing import CliRunner

import immunome
from immunome import harmonize
from immunome.cli import app
from immunome.errors import HarmonizeError

NEW_SITE = "SDY519"


@pytest.fixture(scope="module")
def base_store(require_data, tmp_path_factory):
    """A store with every CyTOF site but SDY519, one release; plus the SDY519 bundle."""
    root = tmp_path_factory.mktemp("hstore")
    bundles = write_cytof_bundles(
        require_data("10kip/CyTOF_PBMC/cytof_pbmc_formatted.csv"), root / "bundles"
    )
    st = immunome.open(root / "store")
    for site, folder in bundles.items():
        if site != NEW_SITE:
            st.submit(folder)
    st.create_release()
    return root / "store", bundles[NEW_SITE]


@pytest.fixture
def store(base_store, tmp_path):
    path, new_bundle = base_store
    shutil.copytree(path, tmp_path / "store")
    return immunome.open(tmp_path / "store"), new_bundle


def _fit(cohort):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return harmonize.fit(cohort, assay="cytof_pbmc")


def test_fit_writes_a_new_layer_in_a_derived_release(store):
    st, _ = store
    parent = st.release("latest")
    h = _fit(parent)
    info = harmonize.derive(st, [h])
    child = st.release(info.release_id)
    assert child.layers == ["raw", "normalized", "harmonized"]
    assert child.manifest["parent"] == parent.release_id
    got = child.matrix("cytof_pbmc", layer="harmonized")
    assert got.equals(h.data.loc[got.index, got.columns])
    for layer in ("raw", "normalized"):
        assert child.matrix("cytof_pbmc", layer=layer).equals(
            parent.matrix("cytof_pbmc", layer=layer)
        )
    est = json.loads(harmonize.stored_estimates(child, "cytof_pbmc"))
    assert est["method"] == "combat" and est["protected"] == ["age", "sex"]
    assert set(est["scales"]) == set(got.columns)
    assert {s["kind"] for s in est["scales"].values()} == {"logit"}  # from the protocol
    step = child.manifest["provenance"][-1]["steps"][0]
    assert step["assay"] == "cytof_pbmc" and step["input_layer"] == "normalized"
    flags = json.loads((child.path / "extras/harmonize/cytof_pbmc/flags.json").read_text())
    assert any(f["rule"] == "site_too_small" and f["site"] == "SDY305" for f in flags)
    assert any(f["rule"] == "confounded_site" and f["site"] == "SDY472" for f in flags)
    with pytest.raises(Exception, match="already exist"):
        harmonize.derive(st, [h], parent=child.release_id)


def test_new_site_in_frozen_mode_leaves_existing_values_bit_identical(store):
    st, new_bundle = store
    first = st.release(harmonize.derive(st, [_fit(st.release("latest"))]).release_id)
    old = first.matrix("cytof_pbmc", layer="harmonized")
    st.submit(new_bundle)
    grown = st.release(st.create_release().release_id)
    h = harmonize.apply(grown, assay="cytof_pbmc", estimates=first)
    second = st.release(harmonize.derive(st, [h], parent=grown.release_id).release_id)
    now = second.matrix("cytof_pbmc", layer="harmonized")
    assert now.loc[old.index, old.columns].to_numpy().tobytes() == old.to_numpy().tobytes()
    new_rows = grown.obs("cytof_pbmc").query("site == @NEW_SITE").index
    assert len(new_rows) == 60
    assert h.corrected.loc[new_rows].to_numpy().mean() > 0.95
    assert h.model.sites[NEW_SITE].source == "frozen-apply"
    est = json.loads(harmonize.stored_estimates(second, "cytof_pbmc"))
    assert NEW_SITE in est["sites"]


def test_parent_release_has_no_estimates(store):
    st, _ = store
    child = st.release(harmonize.derive(st, [_fit(st.release("latest"))]).release_id)
    with pytest.raises(HarmonizeError, match="no harmonisation estimates"):
        harmonize.stored_estimates(st.release(child.manifest["parent"]), "cytof_pbmc")


def test_cli_fit_apply_report(store, tmp_path):
    st, new_bundle = store
    runner = CliRunner()
    base = ["harmonize"]
    r = runner.invoke(
        app, [*base, "fit", "--store", str(st.path), "--assay", "cytof_pbmc", "--json"]
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["layers"] == ["raw", "normalized", "harmonized"]
    assert "SDY472" in out["assays"]["cytof_pbmc"]["confounded_sites"]
    assert any("confounded" in w for w in out["warnings"])
    fitted = out["release_id"]
    st.submit(new_bundle)
    st.create_release()
    r = runner.invoke(
        app,
        [
            *base,
            "apply",
            "--store",
            str(st.path),
            "--assay",
            "cytof_pbmc",
            "--estimates-from",
            fitted,
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["parent"] != fitted
    r = runner.invoke(
        app,
        [
            *base,
            "report",
            "--store",
            str(st.path),
            "--assay",
            "cytof_pbmc",
            "--out",
            str(tmp_path / "cli-rep"),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)["cytof_pbmc"]
    assert set(rep["layers"]) == {"normalized", "harmonized"}
    assert rep["comparison"]["harmonized"]["site_ve_drop"] >= 0.5
    assert (tmp_path / "cli-rep" / "report.json").exists()
    r = runner.invoke(app, [*base, "apply", "--store", str(st.path), "--assay", "cytof_pbmc"])
    assert r.exit_code != 0
