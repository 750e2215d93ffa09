"""Per-assay scales: logit for %, log for concentrations/titers, applied and inverted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunome.errors import HarmonizeError
from immunome.harmonize import ScaleSpec, from_scale, resolve_scales, to_scale


def test_logit_roundtrip_and_auto_eps_keeps_zero_and_resolution_apart():
    X = pd.DataFrame({"f": [0.0, 0.1, 0.2, 12.5, 99.9, 100.0]})
    scales = resolve_scales(X, "logit")
    assert scales["f"].eps == pytest.approx(0.1 / 100 / 2)
    Z = to_scale(X, scales)
    assert Z["f"].is_monotonic_increasing and Z["f"].nunique() == 6
    back = from_scale(Z, scales)
    np.testing.assert_allclose(back["f"].iloc[1:5], X["f"].iloc[1:5], rtol=1e-12)
    assert 0 < back["f"].iloc[0] < 0.1 and 99.9 < back["f"].iloc[-1] < 100


def test_log_pseudocount_from_data_and_roundtrip():
    X = pd.DataFrame({"t": [0.0, 4.0, 40.0, 4000.0]})
    s = resolve_scales(X, "log")["t"]
    assert s.kind == "log" and s.pseudocount == 2.0
    back = from_scale(to_scale(X, {"t": s}), {"t": s})
    np.testing.assert_allclose(back["t"], X["t"], atol=1e-9)


def test_per_feature_mapping_and_fractions():
    X = pd.DataFrame({"p": [0.2, 0.5], "c": [10.0, 100.0], "x": [-1.0, 1.0]})
    s = resolve_scales(X, {"p": "logit", "c": "log"}, upper={"p": 1.0})
    assert (s["p"].kind, s["p"].upper, s["c"].kind, s["x"].kind) == ("logit", 1.0, "log", "linear")
    assert to_scale(X, s)["p"].iloc[1] == pytest.approx(0.0)


def test_percent_outside_range_is_a_clear_error():
    with pytest.raises(HarmonizeError, match=r"feature 'bad'.*outside \[0, 100"):
        resolve_scales(pd.DataFrame({"bad": [5.0, 120.0]}), "logit")


def test_unknown_scale_lists_allowed():
    with pytest.raises(HarmonizeError) as e:
        ScaleSpec(kind="sqrt")
    assert e.value.allowed == ["logit", "log", "linear"]


def test_real_cytof_percentages_roundtrip(cytof):
    scales = resolve_scales(cytof.X, "logit")
    back = from_scale(to_scale(cytof.X, scales), scales)
    pos = (cytof.X > 0).to_numpy()
    np.testing.assert_allclose(back.to_numpy()[pos], cytof.X.to_numpy()[pos], rtol=1e-9)
