"""Bridge (control-sample) normalisation: shift each site onto a reference site.

When every site measures the same reference material (a shared control lot, pooled PBMC
aliquots, a bridging panel of donors), the site effect of a feature is the median paired
difference between the site's and the reference site's measurements of those same bridge
samples, on the correction scale. It is subtracted from every sample of the site. No covariate
model is involved, so confounding with age/sex cannot remove biology.

The reference site's bridge values are stored with the estimates, so a site that joins later is
aligned against them without refitting (frozen mode), and existing sites are unchanged.

Example:
    >>> import pandas as pd
    >>> X = pd.DataFrame({"f": [1.0, 2.0, 3.0, 2.0, 3.0, 4.0]})
    >>> site = pd.Series(list("AAABBB")); bridge = pd.Series(["c1", None, None, "c1", None, None])
    >>> res = bridge_normalize(X, site, bridge, reference="A")
    >>> res.data.f.tolist()
    [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from immunome.errors import HarmonizeError
from immunome.harmonize._flags import Flag
from immunome.harmonize._scales import ScaleSpec, from_scale, resolve_scales, to_scale

FORMAT = "immunome-harmonize/1"


@dataclass
class BridgeModel:
    """Per-site shifts and the reference bridge values (JSON, no pickle).

    Example:
        >>> m = BridgeModel(features=["f"], scales={"f": ScaleSpec()}, reference="A",
        ...                 reference_values={"c1": {"f": 1.0}}, shifts={"A": {"f": 0.0}})
        >>> BridgeModel.from_json(m.to_json()).reference
        'A'
    """

    features: list[str]
    scales: dict[str, ScaleSpec]
    reference: str
    reference_values: dict[str, dict[str, float | None]]
    shifts: dict[str, dict[str, float | None]]
    n_bridges: dict[str, int] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)
    method: str = "bridge"

    @property
    def params(self) -> dict[str, Any]:
        """The method parameters (what a user chose)."""
        return {
            "method": self.method,
            "reference": self.reference,
            "scales": {f: s.kind for f, s in self.scales.items()},
        }

    def to_json(self) -> str:
        """Serialise parameters and estimates to JSON."""
        d = {
            "format": FORMAT,
            "method": self.method,
            "features": self.features,
            "scales": {f: s.to_dict() for f, s in self.scales.items()},
            "reference": self.reference,
            "reference_values": self.reference_values,
            "shifts": self.shifts,
            "n_bridges": self.n_bridges,
            "flags": [f.to_dict() for f in self.flags],
        }
        return json.dumps(d, indent=1, sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> BridgeModel:
        """Load from :meth:`to_json` output."""
        d = json.loads(text)
        if d.get("format") != FORMAT or d.get("method") != "bridge":
            raise HarmonizeError("not a bridge estimate file", allowed=[FORMAT])
        return cls(
            features=d["features"],
            scales={f: ScaleSpec.from_dict(s) for f, s in d["scales"].items()},
            reference=d["reference"],
            reference_values=d["reference_values"],
            shifts=d["shifts"],
            n_bridges={k: int(v) for k, v in d.get("n_bridges", {}).items()},
            flags=[Flag.from_dict(f) for f in d.get("flags", [])],
        )


@dataclass
class BridgeResult:
    """Harmonised data, the cells corrected, the (possibly extended) model and flags."""

    data: pd.DataFrame
    corrected: pd.DataFrame
    model: BridgeModel
    flags: list[Flag]


def fit_bridge(
    X: pd.DataFrame,
    site: pd.Series,
    bridge: pd.Series,
    *,
    reference: str,
    scale: str | Mapping[str, str | ScaleSpec] = "linear",
    upper: float | Mapping[str, float] = 100.0,
) -> BridgeModel:
    """Estimate per-site shifts from bridge samples (``bridge``: shared id, NaN otherwise).

    Example:
        >>> X = pd.DataFrame({"f": [1.0, 5.0, 3.0, 9.0]})
        >>> m = fit_bridge(X, pd.Series(list("AABB")), pd.Series(["c", None, "c", None]),
        ...                reference="A")
        >>> m.shifts["B"]["f"]
        2.0
    """
    s_arr = site.astype(str)
    if reference not in set(s_arr):
        raise HarmonizeError(
            f"reference site {reference!r} has no samples", allowed=sorted(set(s_arr))
        )
    scales = resolve_scales(X, scale, upper=upper)
    Z = to_scale(X, scales)
    ref_rows = (s_arr == reference) & bridge.notna()
    if not ref_rows.any():
        raise HarmonizeError(
            f"reference site {reference!r} has no bridge samples "
            "(bridge ids are NaN for all its rows)"
        )
    ref_vals = Z[ref_rows].groupby(bridge[ref_rows].astype(str)).mean()
    model = BridgeModel(
        features=[str(c) for c in X.columns],
        scales=scales,
        reference=reference,
        reference_values={
            str(b): {str(f): _num(v) for f, v in row.items()} for b, row in ref_vals.iterrows()
        },
        shifts={},
    )
    for s in sorted(set(s_arr)):
        _estimate(model, Z, s_arr, bridge, s)
    return model


def apply_bridge(
    model: BridgeModel, X: pd.DataFrame, site: pd.Series, bridge: pd.Series | None = None
) -> BridgeResult:
    """Subtract each site's shift; new sites are estimated from their bridge samples.

    Example:
        >>> X = pd.DataFrame({"f": [1.0, 5.0, 3.0, 9.0]}); s = pd.Series(list("AABB"))
        >>> m = fit_bridge(X, s, pd.Series(["c", None, "c", None]), reference="A")
        >>> apply_bridge(m, X, s).data.f.tolist()
        [1.0, 5.0, 1.0, 7.0]
    """
    unknown = [c for c in X.columns if str(c) not in model.features]
    if unknown:
        raise HarmonizeError(
            f"features not in the bridge model: {unknown[:10]}", allowed=model.features
        )
    s_arr = site.astype(str)
    Z = to_scale(X.rename(columns=str), {f: model.scales[f] for f in map(str, X.columns)})
    new = sorted(set(s_arr) - set(model.shifts))
    if new:
        model = BridgeModel(
            **{
                **model.__dict__,
                "shifts": dict(model.shifts),
                "n_bridges": dict(model.n_bridges),
                "flags": list(model.flags),
            }
        )
        for s in new:
            if bridge is None:
                model.flags.append(
                    Flag(
                        rule="no_bridge_samples",
                        site=s,
                        message="new site and no bridge ids given; uncorrected",
                    )
                )
                model.shifts[s] = {}
            else:
                _estimate(model, Z, s_arr, bridge, s)
    out = Z.copy()
    done = pd.DataFrame(False, index=X.index, columns=Z.columns)
    for s, shifts in model.shifts.items():
        rows = s_arr == s
        if s == model.reference or not rows.any():
            continue
        for f in Z.columns:
            v = shifts.get(f)
            if v is not None:
                out.loc[rows, f] = Z.loc[rows, f] - v
                done.loc[rows, f] = Z.loc[rows, f].notna()
    back = from_scale(out, model.scales)
    data = X.rename(columns=str).astype(float).mask(done, back)
    return BridgeResult(data=data, corrected=done, model=model, flags=list(model.flags))


def bridge_normalize(
    X: pd.DataFrame, site: pd.Series, bridge: pd.Series, *, reference: str, **options: Any
) -> BridgeResult:
    """Fit and apply bridge normalisation in one call (options as :func:`fit_bridge`)."""
    model = fit_bridge(X, site, bridge, reference=reference, **options)
    return apply_bridge(model, X, site, bridge)


def _estimate(
    model: BridgeModel, Z: pd.DataFrame, s_arr: pd.Series, bridge: pd.Series, s: str
) -> None:
    rows = (s_arr == s) & bridge.notna()
    ids = bridge[rows].astype(str)
    shared = sorted(set(ids) & set(model.reference_values))
    model.n_bridges[s] = len(shared)
    if not shared:
        model.flags.append(
            Flag(
                rule="no_bridge_samples",
                site=s,
                message="no bridge sample shared with the reference; uncorrected",
            )
        )
        model.shifts[s] = {}
        return
    vals = Z[rows].groupby(ids).mean().loc[shared]
    ref = pd.DataFrame.from_dict({b: model.reference_values[b] for b in shared}, orient="index")
    diff = (vals - ref.reindex(columns=vals.columns).astype(float)).median()
    model.shifts[s] = {str(f): _num(v) for f, v in diff.items()}


def _num(v: Any) -> float | None:
    v = float(v)
    return None if math.isnan(v) or math.isinf(v) else v


_ = np
