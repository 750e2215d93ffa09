"""Confounding of site with protected covariates is named, not silently 'corrected away'."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from harmonize_synth import make_sites

from immunome.errors import ConfoundingWarning, HarmonizeError
from immunome.harmonize import (
    apply_frame,
    build_report,
    combat,
    detect_confounding,
    harmonize_frame,
)


@pytest.fixture
def kids_site():
    """Two adult sites spanning 20–80 plus a site of children only (5–15), strong age effect."""
    return make_sites(
        n_per_site={"adultsA": 60, "adultsB": 60, "kids": 25},
        age_ranges={"kids": (5.0, 15.0)},
        age_effect=0.05,
        shift={"adultsB": 0.8, "kids": 0.5},
        seed=21,
    )


def test_constructed_case_is_named_in_flags_warning_and_report(kids_site, tmp_path):
    f = kids_site
    table = detect_confounding(f.site, f.cov)
    bad = table[table.confounded]
    assert bad.site.tolist() == ["kids"] and bad.covariate.tolist() == ["age"]
    assert bad.value.iloc[0] <= 0.1
    with pytest.warns(ConfoundingWarning, match=r"\['kids'\]"):
        h = harmonize_frame(f.X, f.site, f.cov)
    assert [x.site for x in h.flags if x.rule == "confounded_site"] == ["kids"]
    named = {x.feature for x in h.flags if x.rule == "confounded_feature"}
    assert named == set(f.X.columns)  # every feature carries the age effect (2 SD at kids)
    rep = build_report(
        {"raw": f.X, "harmonized": h.data},
        f.site,
        f.cov,
        out=tmp_path,
        flags=h.flags,
        affected=h.affected,
    )
    md = (tmp_path / "report.md").read_text()
    assert "**kids** (age)" in md and "Affected features" in md and "f0" in md
    assert {a["site"] for a in rep.affected} == {"kids"}


def test_protected_correction_keeps_the_age_gap_a_naive_one_removes_it(kids_site, no_warnings):
    f = kids_site
    kids = f.site == "kids"
    true_gap = 0.05 * (f.cov.age[~kids].mean() - f.cov.age[kids].mean())
    protected = harmonize_frame(f.X, f.site, f.cov).data
    naive = combat(f.X, f.site, f.cov.iloc[:, :0]).data

    def gap(d):
        return float((d[~kids].mean() - d[kids].mean()).mean())

    assert gap(protected) == pytest.approx(true_gap, abs=0.35)
    assert abs(gap(naive)) < 0.25 * true_gap


def test_skip_leaves_confounded_cells_uncorrected_and_error_raises(kids_site):
    f = kids_site
    with pytest.warns(ConfoundingWarning):
        h = harmonize_frame(f.X, f.site, f.cov, on_confounded="skip")
    kids = f.site == "kids"
    assert h.data[kids].equals(f.X[kids])
    assert not h.corrected[kids].to_numpy().any()
    assert h.corrected[~kids].to_numpy().all()
    assert all(not x.corrected for x in h.flags if x.rule == "confounded_feature")
    with pytest.raises(HarmonizeError, match="confounded at \\['kids'\\]"):
        harmonize_frame(f.X, f.site, f.cov, on_confounded="error")


def test_categorical_confounding_detected():
    site = pd.Series(["A"] * 10 + ["B"] * 10 + ["C"] * 10)
    sex = pd.Series(["Male"] * 10 + ["Female"] * 20)
    t = detect_confounding(site, pd.DataFrame({"sex": sex}))
    assert t.loc[t.confounded, "site"].tolist() == ["A"]
    assert (
        "'Male' is 100% of its samples and 0% of the other sites'"
        in t.loc[t.confounded, "detail"].iloc[0]
    )
    one_site = detect_confounding(pd.Series(["A"] * 5), pd.DataFrame({"sex": ["Male"] * 5}))
    assert one_site.empty
    big = pd.Series(["A"] * 90 + ["B"] * 10)  # a big site with both sexes is not confounded
    t = detect_confounding(big, pd.DataFrame({"sex": ["Female", "Male"] * 50}))
    assert not t.confounded.any()


def test_real_10kip_children_and_young_sites_are_named(cytof):
    with pytest.warns(ConfoundingWarning) as rec:
        h = harmonize_frame(
            cytof.X, cytof.site, cytof.cov, scale="logit", participants=cytof.participants
        )
    sites = {x.site for x in h.flags if x.rule == "confounded_site"}
    assert {"SDY472", "SDY113"} <= sites  # SDY472: ages 10–18 only; SDY113: 18–31 only
    assert "SDY420" not in sites
    kids = {x.feature for x in h.flags if x.rule == "confounded_feature" and x.site == "SDY472"}
    assert len(kids) >= 3
    assert any("SDY472" in str(w.message) for w in rec)
    detail = next(x.message for x in h.flags if x.rule == "confounded_site" and x.site == "SDY472")
    assert "age at SDY472: 10.37–17.76" in detail
    assert np.isfinite(h.affected.shift_sd).all()


def test_frozen_apply_names_a_new_confounded_site(kids_site):
    """A children-only site joining later is checked against the fitted sites' age summary."""
    f = kids_site
    old = f.site != "kids"
    h = harmonize_frame(f.X[old], f.site[old], f.cov[old])
    kids = f.site[~old]
    assert h.model.covariate_reference["age"]["percentiles"][0] >= 20
    with pytest.warns(ConfoundingWarning, match="kids"):
        res = apply_frame(h.estimates_json(), f.X, f.site, f.cov)
    assert [x.site for x in res.flags if x.rule == "confounded_site"] == ["kids"]
    assert {x.feature for x in res.flags if x.rule == "confounded_feature"} == set(f.X.columns)
    assert res.data[old].equals(h.data)  # existing sites untouched, flags or not
    with pytest.warns(ConfoundingWarning):
        skipped = apply_frame(h.estimates_json(), f.X, f.site, f.cov, on_confounded="skip")
    assert skipped.data.loc[kids.index].equals(f.X.loc[kids.index])
    adults = make_sites(n_per_site={"adultsC": 30}, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfoundingWarning)
        ok = apply_frame(h.estimates_json(), adults.X, adults.site, adults.cov)
    assert not [x for x in ok.flags if x.rule.startswith("confounded")]
