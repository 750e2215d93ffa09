"""Frozen (reference) mode: a new site is harmonised without refitting; the others do not move."""

from __future__ import annotations

import numpy as np
import pandas as pd
from harmonize_synth import make_sites

from immunome.harmonize import (
    CombatModel,
    apply_combat,
    apply_frame,
    fit_combat,
    harmonize_frame,
    resolve_scales,
    to_scale,
    variance_explained,
)


def _bits(df: pd.DataFrame) -> bytes:
    return np.ascontiguousarray(df.to_numpy(float)).tobytes()


def test_new_site_leaves_existing_sites_bit_identical_synthetic():
    f = make_sites(n_per_site={"A": 40, "B": 40, "C": 40, "D": 30}, shift={"B": 1, "D": 2.5})
    old = f.site != "D"
    model = fit_combat(f.X[old], f.site[old], f.cov[old])
    before = apply_combat(model, f.X[old], f.site[old], f.cov[old])
    after = apply_combat(CombatModel.from_json(model.to_json()), f.X, f.site, f.cov)
    assert _bits(after.data[old]) == _bits(before.data)
    assert "D" not in model.sites and after.model.sites["D"].source == "frozen-apply"
    d = f.site == "D"
    gap_before = (f.X[d].mean() - f.X[~d].mean()).abs().mean()
    gap_after = (after.data[d].mean() - after.data[~d].mean()).abs().mean()
    assert gap_after < 0.25 * gap_before
    # the extended model re-applies the new site identically too
    again = apply_combat(CombatModel.from_json(after.model.to_json()), f.X, f.site, f.cov)
    assert _bits(again.data) == _bits(after.data)


def test_row_order_and_company_do_not_change_a_samples_value():
    f = make_sites(shift={"B": 1.0}, seed=7)
    model = fit_combat(f.X, f.site, f.cov)
    full = apply_combat(model, f.X, f.site, f.cov).data
    perm = np.random.default_rng(0).permutation(len(f.X))
    shuffled = apply_combat(model, f.X.iloc[perm], f.site.iloc[perm], f.cov.iloc[perm]).data
    assert _bits(shuffled.loc[full.index]) == _bits(full)
    one = apply_combat(model, f.X.iloc[[5]], f.site.iloc[[5]], f.cov.iloc[[5]]).data
    assert _bits(one) == _bits(full.iloc[[5]])


def test_real_10kip_cytof_new_site_frozen(cytof, no_warnings):
    new = "SDY519"
    old = cytof.site != new
    h_old = harmonize_frame(
        cytof.X[old],
        cytof.site[old],
        cytof.cov[old],
        scale="logit",
        participants=cytof.participants[old],
    )
    h_all = apply_frame(
        h_old.estimates_json(), cytof.X, cytof.site, cytof.cov, participants=cytof.participants
    )
    assert _bits(h_all.data[old]) == _bits(h_old.data)
    assert h_all.model.sites[new].source == "frozen-apply"
    assert h_all.corrected[~old].to_numpy().mean() > 0.95
    scales = resolve_scales(cytof.X, "logit")
    ve0 = variance_explained(to_scale(cytof.X, scales), cytof.site, cytof.cov)
    ve1 = variance_explained(to_scale(h_all.data, scales), cytof.site, cytof.cov)
    assert ve1["site"].median() <= 0.5 * ve0["site"].median()
