"""CMI-PB: 2021 day-0 baselines harmonised onto the 2020 cohort in frozen (reference) mode.

The model is fitted on 2020 alone (reference site, left unchanged); 2021 is a new "site"
estimated against the frozen 2020 reference. Batch effect = median over features of the
variance explained by cohort year with age and sex in the model.
"""

from __future__ import annotations

import numpy as np
import pytest

from immunome.harmonize import (
    apply_frame,
    harmonize_frame,
    resolve_scales,
    to_scale,
    variance_explained,
)

TABLES = [("cytof", "logit"), ("abtiters.mfi_raw", "log"), ("olink", "linear")]


@pytest.mark.parametrize(("table", "scale"), TABLES)
def test_2021_onto_2020_frozen_reduces_batch_effect(cmipb, table, scale, no_warnings):
    f = cmipb(table)
    old = (f.site == "2020").to_numpy()
    h2020 = harmonize_frame(f.X[old], f.site[old], f.cov[old], scale=scale, reference="2020")
    assert h2020.data.equals(f.X[old].astype(float))  # the reference does not move
    assert not [x for x in h2020.flags if x.rule.startswith("confounded")]  # one site only
    both = apply_frame(h2020.estimates_json(), f.X, f.site, f.cov)
    assert both.data[old].to_numpy().tobytes() == h2020.data.to_numpy().tobytes()
    assert both.model.sites["2021"].source == "frozen-apply"
    scales = resolve_scales(f.X[old], scale)
    before = variance_explained(to_scale(f.X, scales), f.site, f.cov)["site"].median()
    after = variance_explained(to_scale(both.data, scales), f.site, f.cov)["site"].median()
    assert after <= 0.5 * before
    assert np.isfinite(before) and before > 0
