"""ComBat: validated against inmoose's pycombat_norm; removes site effects, keeps age/sex."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from harmonize_synth import make_sites
from inmoose.pycombat import pycombat_norm

from immunome.harmonize import (
    CombatModel,
    apply_combat,
    combat,
    fit_combat,
    resolve_scales,
    to_scale,
    variance_explained,
)

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


def _pycombat(Z: pd.DataFrame, site: pd.Series, cov: pd.DataFrame | None, **kw) -> pd.DataFrame:
    out = pycombat_norm(Z.T, site.tolist(), covar_mod=cov, **kw)
    return out.T


def test_matches_pycombat_on_real_10kip_cytof_with_age_and_sex(cytof):
    keep = cytof.site.map(cytof.site.value_counts()) >= 3
    X = cytof.X[keep].dropna(axis=1)
    scales = resolve_scales(X, "logit")
    Z = to_scale(X, scales)
    ours = combat(Z, cytof.site[keep], cytof.cov[keep])
    ref = _pycombat(Z, cytof.site[keep], cytof.cov[keep])
    assert ours.corrected.to_numpy().all()
    np.testing.assert_allclose(ours.data.to_numpy(), ref.to_numpy(), atol=1e-4)
    assert np.abs(ours.data.to_numpy() - Z.to_numpy()).max() > 0.1  # it did correct


def test_matches_pycombat_reference_batch_and_mean_only():
    f = make_sites(shift={"B": 1.5, "C": -1.0}, scale={"C": 1.8}, seed=3)
    ours = combat(f.X, f.site, f.cov, reference="A")
    ref = _pycombat(f.X, f.site, f.cov, ref_batch="A")
    np.testing.assert_allclose(ours.data.to_numpy(), ref.to_numpy(), atol=1e-4)
    assert ours.data[f.site == "A"].equals(f.X[f.site == "A"])
    ours_m = combat(f.X, f.site, f.cov[["age"]], mean_only=True)
    ref_m = _pycombat(f.X, f.site, f.cov[["age"]], mean_only=True)
    np.testing.assert_allclose(ours_m.data.to_numpy(), ref_m.to_numpy(), atol=1e-4)


def test_removes_site_effect_and_keeps_age_effect():
    f = make_sites(shift={"B": 2.0, "C": -1.5}, scale={"C": 2.0}, age_effect=0.04, seed=1)
    res = combat(f.X, f.site, f.cov)
    before = variance_explained(f.X, f.site, f.cov)
    after = variance_explained(res.data, f.site, f.cov)
    assert after["site"].median() < 0.1 * before["site"].median()
    assert after["biology_given_site"].median() >= 0.8 * before["biology_given_site"].median()
    slope = np.polyfit(f.cov["age"], res.data["f0"] - 0.3 * (f.cov["sex"] == "Male"), 1)[0]
    assert slope == pytest.approx(0.04, abs=0.01)


def test_estimates_are_json_and_reload_bit_identically():
    f = make_sites(shift={"B": 1.0}, seed=2)
    model = fit_combat(f.X, f.site, f.cov, scale={"f0": "log"}, upper=100.0)
    text = model.to_json()
    d = json.loads(text)
    assert d["format"] == "immunome-harmonize/1" and d["method"] == "combat"
    assert d["protected"] == ["age", "sex"] and d["covariate_columns"] == ["age", "sex[Male]"]
    assert set(d["sites"]) == {"A", "B", "C"}
    assert {"gamma_star", "delta_star", "priors"} <= set(d["sites"]["B"])
    X = f.X.abs()
    model = fit_combat(X, f.site, f.cov, scale={"f0": "log"})
    a = apply_combat(model, X, f.site, f.cov).data
    b = apply_combat(CombatModel.from_json(model.to_json()), X, f.site, f.cov).data
    assert a.to_numpy().tobytes() == b.to_numpy().tobytes()


def test_apply_rejects_features_not_in_model():
    f = make_sites(seed=4)
    model = fit_combat(f.X[["f0", "f1"]], f.site, f.cov)
    with pytest.raises(Exception, match="features not in the fitted model"):
        apply_combat(model, f.X, f.site, f.cov)


def test_apply_accepts_a_subset_of_features_in_any_order():
    f = make_sites(seed=5, shift={"B": 1.0})
    model = fit_combat(f.X, f.site, f.cov)
    full = apply_combat(model, f.X, f.site, f.cov).data
    part = apply_combat(model, f.X[["f3", "f1"]], f.site, f.cov).data
    assert part.equals(full[["f3", "f1"]])
