"""The Cohort: tidy/matrix getters, layers, unit normalisation, AnnData round trip."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest

import immunome
from immunome.errors import ReleaseError

from ._bundles import CYTOKINES, make_bundle


@pytest.fixture()
def cohort(tmp_path):
    s = immunome.open(tmp_path / "store")
    s.submit(make_bundle(tmp_path / "b1", site="SITE01", seed=1, unit="pg/mL"))
    s.submit(make_bundle(tmp_path / "b2", site="SITE02", seed=2, unit="ng/mL"))
    s.create_release()
    return s.release("latest")


def test_tables(cohort):
    assert len(cohort.participants) == 24
    assert cohort.participants.index.name == "participant_id"
    assert set(cohort.participants["site"]) == {"SITE01", "SITE02"}
    assert len(cohort.samples) == 48
    assert set(cohort.samples["day"]) == {0, 7}
    f = cohort.features.set_index("feature")
    assert set(CYTOKINES) <= set(f.index)
    assert (f.loc[CYTOKINES, "unit"] == "pg/mL").all()
    assert cohort.layers == ["raw", "normalized"]


def test_matrix_and_visit_filter(cohort):
    m = cohort.matrix("multiplex_cytokines")
    assert m.shape == (48, 3)
    assert list(m.columns) == [
        c for c in cohort.features.query("assay == 'multiplex_cytokines'")["feature"]
    ]
    d0 = cohort.matrix("multiplex_cytokines", day=0)
    assert d0.shape == (24, 3)
    assert (cohort.samples.loc[d0.index, "day"] == 0).all()
    obs = cohort.obs("multiplex_cytokines", day=0)
    assert list(obs.index) == list(d0.index)
    assert {"site", "age", "sex", "participant_id"} <= set(obs.columns)


def test_normalized_layer_converts_units(cohort):
    raw = cohort.matrix("multiplex_cytokines", layer="raw")
    norm = cohort.matrix("multiplex_cytokines", layer="normalized")
    site = cohort.samples.loc[raw.index, "site"]
    ng = site == "SITE02"
    np.testing.assert_allclose(norm[ng].to_numpy(), raw[ng].to_numpy() * 1000)
    np.testing.assert_allclose(norm[~ng].to_numpy(), raw[~ng].to_numpy())


def test_raw_ids_not_exposed(cohort):
    assert not any(str(i).startswith("SITE01-P") for i in cohort.participants.index)
    assert not cohort.samples["participant_id"].astype(str).str.contains("SITE0").any()


def test_unknown_layer_and_assay(cohort):
    with pytest.raises(ReleaseError, match="no layer"):
        cohort.matrix("multiplex_cytokines", layer="harmonized")
    with pytest.raises(ReleaseError, match="no assay"):
        cohort.matrix("olink")


def test_anndata_roundtrip_h5ad(cohort, tmp_path):
    a = cohort.to_anndata("multiplex_cytokines", layer="normalized")
    assert a.shape == (48, 3)
    assert set(a.layers.keys()) == {"raw", "normalized"}
    assert a.uns["release_id"] == cohort.release_id
    path = tmp_path / "c.h5ad"
    a.write_h5ad(path)
    b = ad.read_h5ad(path)
    assert list(b.obs_names) == list(a.obs_names)
    assert list(b.var_names) == list(a.var_names)
    assert b.obs.columns.tolist() == a.obs.columns.tolist()
    assert b.obs["site"].astype(str).tolist() == a.obs["site"].astype(str).tolist()
    np.testing.assert_allclose(b.obs["age"].to_numpy(float), a.obs["age"].to_numpy(float))
    assert b.var["unit"].astype(str).tolist() == a.var["unit"].astype(str).tolist()
    np.testing.assert_allclose(b.X, a.X)
    np.testing.assert_allclose(b.layers["raw"], a.layers["raw"])
