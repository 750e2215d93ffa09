"""Bridge/control-sample normalisation when sites share reference samples."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from immunome.errors import HarmonizeError
from immunome.harmonize import (
    BridgeModel,
    apply_bridge,
    apply_frame,
    bridge_normalize,
    fit_bridge,
    harmonize_frame,
)


def _bridged(seed: int = 0, sites=("A", "B", "C", "D"), shift=None):
    """Each site: 5 shared controls (c0..c4) + 20 own samples, % values with a logit shift."""
    rng = np.random.default_rng(seed)
    shift = shift or {"A": 0.0, "B": 0.7, "C": -0.5, "D": 1.2}
    truth = rng.normal(-1.5, 0.6, (5, 3))
    rows, site, bridge = [], [], []
    for s in sites:
        ctrl = truth + shift[s] + rng.normal(0, 0.02, truth.shape)
        own = rng.normal(-1.5, 0.6, (20, 3)) + shift[s]
        rows.append(np.vstack([ctrl, own]))
        site += [s] * 25
        bridge += [f"c{i}" for i in range(5)] + [None] * 20
    z = np.vstack(rows)
    idx = [f"x{i}" for i in range(len(site))]
    X = pd.DataFrame(100 / (1 + np.exp(-z)), index=idx, columns=["p0", "p1", "p2"])
    return X, pd.Series(site, index=idx), pd.Series(bridge, index=idx, dtype=object), shift


def test_recovers_site_shifts_and_aligns_controls():
    X, site, bridge, shift = _bridged()
    res = bridge_normalize(X, site, bridge, reference="A", scale="logit")
    for s in "BCD":
        assert res.model.shifts[s]["p0"] == pytest.approx(shift[s], abs=0.05)
    ctrl = bridge.notna()
    before = X[ctrl].groupby(bridge[ctrl]).std().mean().mean()
    after = res.data[ctrl].groupby(bridge[ctrl]).std().mean().mean()
    assert after < 0.2 * before
    assert res.data[site == "A"].equals(X[site == "A"])


def test_frozen_new_site_and_json():
    X, site, bridge, _ = _bridged()
    old = site != "D"
    model = fit_bridge(X[old], site[old], bridge[old], reference="A", scale="logit")
    d = json.loads(model.to_json())
    assert d["method"] == "bridge" and set(d["reference_values"]) == {f"c{i}" for i in range(5)}
    first = apply_bridge(model, X[old], site[old], bridge[old]).data
    res = apply_bridge(BridgeModel.from_json(model.to_json()), X, site, bridge)
    assert res.data[old].to_numpy().tobytes() == first.to_numpy().tobytes()
    assert res.model.shifts["D"]["p1"] == pytest.approx(1.2, abs=0.05)
    h = apply_frame(model.to_json(), X, site, pd.DataFrame(index=X.index), bridge=bridge)
    assert h.method == "bridge" and h.data.equals(res.data)


def test_site_without_shared_controls_is_flagged_and_untouched():
    X, site, bridge, _ = _bridged()
    bridge = bridge.copy()
    bridge[site == "C"] = None
    h = harmonize_frame(
        X,
        site,
        pd.DataFrame(index=X.index),
        method="bridge",
        bridge=bridge,
        reference="A",
        scale="logit",
    )
    assert [(f.rule, f.site) for f in h.flags] == [("no_bridge_samples", "C")]
    assert h.data[site == "C"].equals(X[site == "C"])
    with pytest.raises(HarmonizeError, match="needs bridge="):
        harmonize_frame(X, site, pd.DataFrame(index=X.index), method="bridge")
    with pytest.raises(HarmonizeError, match="no bridge samples"):
        fit_bridge(X, site, bridge.where(site != "A"), reference="A")
