"""Degenerate input: clear message, left uncorrected and flagged, never a crash."""

from __future__ import annotations

import numpy as np
import pytest
from harmonize_synth import make_sites

from immunome.errors import HarmonizeError
from immunome.harmonize import apply_combat, fit_combat, harmonize_frame


def _flags(h, rule):
    return [f for f in h.flags if f.rule == rule]


@pytest.fixture
def messy():
    """Three good sites + one site of 2 participants + constant, all-missing, sparse features."""
    f = make_sites(n_per_site={"A": 30, "B": 30, "C": 30, "tiny": 2}, shift={"B": 1.5}, seed=11)
    X = f.X.copy()
    X["const"] = 3.0
    X["empty"] = np.nan
    X["sparse"] = X["f0"]
    X.loc[f.site == "C", "sparse"] = np.nan
    X.loc[X.index[(f.site == "C").to_numpy()][0], "sparse"] = 1.0  # one value at C
    X["flat_at_b"] = X["f1"]
    X.loc[f.site == "B", "flat_at_b"] = 0.5
    return f, X


def test_messy_input_flags_everything_and_keeps_values(messy, no_warnings):
    f, X = messy
    h = harmonize_frame(X, f.site, f.cov)
    tiny = f.site == "tiny"
    small = _flags(h, "site_too_small")
    assert [x.site for x in small] == ["tiny"]
    assert "2 participant(s)" in small[0].message and "min_site_size 3" in small[0].message
    assert h.data[tiny].equals(X[tiny]) and not h.corrected[tiny].to_numpy().any()
    assert [x.feature for x in _flags(h, "constant_feature")] == ["const"]
    assert h.data["const"].eq(3.0).all()
    assert [x.feature for x in _flags(h, "all_missing")] == ["empty"]
    assert h.data["empty"].isna().all()
    few = [(x.site, x.feature) for x in _flags(h, "site_feature_too_few")]
    assert few == [("C", "sparse")]
    c_sparse = (f.site == "C") & X["sparse"].notna()
    assert h.data.loc[c_sparse, "sparse"].eq(1.0).all()
    assert [(x.site, x.feature) for x in _flags(h, "site_feature_constant")] == [("B", "flat_at_b")]
    assert h.data.loc[f.site == "B", "flat_at_b"].eq(0.5).all()
    # everything else was corrected
    ok = ~tiny.to_numpy()
    assert h.corrected.loc[ok, ["f0", "f1", "f2"]].to_numpy().all()
    assert all(str(x) for x in h.flags)


def test_site_size_counts_participants_not_samples(no_warnings):
    f = make_sites(n_per_site={"A": 20, "B": 20, "rep": 4}, seed=2)
    parts = f.participants.copy()
    rep = f.site == "rep"
    parts[rep] = ["p1", "p1", "p2", "p2"]
    h = harmonize_frame(f.X, f.site, f.cov, participants=parts)
    assert [x.site for x in _flags(h, "site_too_small")] == ["rep"]
    h2 = harmonize_frame(f.X, f.site, f.cov, participants=parts, min_site_size=2)
    assert not _flags(h2, "site_too_small")


def test_missing_and_unknown_covariates_left_uncorrected(no_warnings):
    f = make_sites(seed=3, shift={"B": 1.0})
    cov = f.cov.copy()
    cov.loc[cov.index[0], "age"] = np.nan
    cov.loc[cov.index[1], "sex"] = "Unknown"
    h = harmonize_frame(f.X, f.site, cov)
    (flag,) = _flags(h, "missing_covariates")
    assert "2 sample(s)" in flag.message
    assert h.data.iloc[:2].equals(f.X.iloc[:2])
    assert h.corrected.iloc[2:].to_numpy().all()


def test_unseen_category_and_misalignment_are_clear_errors():
    f = make_sites(seed=4)
    model = fit_combat(f.X, f.site, f.cov)
    cov = f.cov.copy()
    cov.loc[cov.index[0], "sex"] = "Intersex"
    with pytest.raises(HarmonizeError, match="'Intersex'") as e:
        apply_combat(model, f.X, f.site, cov)
    assert e.value.allowed == ["Female", "Male"]
    with pytest.raises(HarmonizeError, match="not aligned"):
        fit_combat(f.X, f.site.iloc[:-1], f.cov)
    with pytest.raises(HarmonizeError, match="protected covariates missing"):
        apply_combat(model, f.X, f.site, f.cov[["age"]])


def test_single_site_feature_and_new_tiny_site(no_warnings):
    f = make_sites(n_per_site={"A": 20, "B": 20, "new": 2}, seed=5)
    X = f.X.copy()
    X.loc[f.site != "A", "f5"] = np.nan
    old = f.site != "new"
    h = harmonize_frame(X[old], f.site[old], f.cov[old])
    assert [x.feature for x in _flags(h, "single_site")] == ["f5"]
    res = apply_combat(h.model, X, f.site, f.cov)
    new = f.site == "new"
    assert res.data[new].equals(X[new].astype(float))
    assert any(x.rule == "site_too_small" and x.site == "new" for x in res.flags)


def test_covariate_collinear_with_site_is_left_uncorrected(no_warnings):
    f = make_sites(n_per_site={"A": 20, "B": 20}, seed=6)
    cov = f.cov.copy()
    cov["sex"] = np.where(f.site == "A", "Female", "Male")
    h = harmonize_frame(f.X, f.site, cov, on_confounded="flag")
    assert {x.feature for x in _flags(h, "covariate_confounded")} == set(f.X.columns)
    assert h.data.equals(f.X)
