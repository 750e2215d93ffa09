"""Per-assay measurement scales: transform before correction, invert after.

ComBat assumes roughly Gaussian, additive site effects. Cell frequencies (percent of parent) are
bounded and multiplicative near 0 and 100, so they are corrected on the **logit** scale;
concentrations and titers are right-skewed and multiplicative, so they are corrected on the
**log** scale; anything else stays **linear**.

* ``logit``: ``p = clip(x / upper, eps, 1 - eps)``, ``z = log(p / (1 - p))``; inverse
  ``x = upper / (1 + exp(-z))``. ``upper`` is 100 for percentages (the default) and 1 for fractions.
  Values at exactly 0 % or 100 % are clipped to ``eps``: by default half the smallest positive
  proportion seen when fitting (so 0 % and the assay's resolution stay distinct), recorded in the
  estimates; the inverse therefore returns values strictly inside ``(0, upper)``. Only corrected
  cells are back-transformed: an uncorrected cell keeps its input value exactly.
* ``log``: ``z = log(max(x, 0) + c)`` with a per-feature pseudocount ``c`` = half the smallest
  positive value seen when fitting (recorded in the estimates so a later site uses the same ``c``);
  inverse ``x = exp(z) - c``.
* ``linear``: identity.

Example:
    >>> import pandas as pd
    >>> s = ScaleSpec(kind="logit")
    >>> round(float(s.inverse(s.forward(pd.Series([12.5])))[0]), 6)
    12.5
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from immunome.errors import HarmonizeError

ScaleKind = Literal["logit", "log", "linear"]
SCALES: tuple[str, ...] = ("logit", "log", "linear")


@dataclass(frozen=True)
class ScaleSpec:
    """How one feature is transformed before correction.

    Example:
        >>> ScaleSpec(kind="log", pseudocount=0.5).to_dict()["kind"]
        'log'
    """

    kind: str = "linear"
    upper: float = 100.0
    eps: float | None = None
    pseudocount: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in SCALES:
            raise HarmonizeError(f"unknown scale {self.kind!r}", allowed=SCALES)

    def forward(self, x: pd.Series) -> pd.Series:
        """Map raw values to the correction scale (NaN stays NaN)."""
        v = x.astype(float)
        if self.kind == "logit":
            eps = self.eps if self.eps is not None else 1e-3
            p = (v / self.upper).clip(lower=eps, upper=1 - eps)
            return np.log(p / (1 - p))
        if self.kind == "log":
            c = self.pseudocount if self.pseudocount is not None else 1.0
            return np.log(v.clip(lower=0) + c)
        return v

    def inverse(self, z: pd.Series) -> pd.Series:
        """Map corrected values back to the measurement scale."""
        v = z.astype(float)
        if self.kind == "logit":
            return self.upper / (1 + np.exp(-v))
        if self.kind == "log":
            c = self.pseudocount if self.pseudocount is not None else 1.0
            return (np.exp(v) - c).clip(lower=0)
        return v

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScaleSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**dict(d))


def resolve_scales(
    X: pd.DataFrame,
    scale: str | Mapping[str, str | ScaleSpec],
    *,
    upper: float | Mapping[str, float] = 100.0,
) -> dict[str, ScaleSpec]:
    """Build one :class:`ScaleSpec` per column of ``X``, fixing log pseudocounts from the data.

    ``scale`` is one kind for all columns or a mapping feature → kind/spec (missing → linear).

    Example:
        >>> X = pd.DataFrame({"a": [0.0, 2.0, 4.0]})
        >>> resolve_scales(X, "log")["a"].pseudocount
        1.0
    """
    out: dict[str, ScaleSpec] = {}
    for col in X.columns:
        raw = scale if isinstance(scale, str) else scale.get(col, "linear")
        up = upper if isinstance(upper, int | float) else upper.get(col, 100.0)
        spec = raw if isinstance(raw, ScaleSpec) else ScaleSpec(kind=str(raw), upper=float(up))
        if spec.kind == "log" and spec.pseudocount is None:
            pos = X[col][X[col] > 0]
            c = float(pos.min()) / 2 if len(pos) else 1.0
            spec = ScaleSpec(kind="log", upper=spec.upper, eps=spec.eps, pseudocount=c)
        if spec.kind == "logit" and spec.eps is None:
            prop = X[col].dropna() / spec.upper
            pos = pd.concat([prop[prop > 0], 1 - prop[prop < 1]])
            eps = float(min(pos.min() / 2, 1e-3)) if len(pos) else 1e-3
            spec = ScaleSpec(kind="logit", upper=spec.upper, eps=max(eps, 1e-9))
        if spec.kind == "logit":
            vals = X[col].dropna()
            if len(vals) and (vals.min() < 0 or vals.max() > spec.upper):
                raise HarmonizeError(
                    f"feature {col!r}: values outside [0, {spec.upper}] cannot be put on the "
                    f"logit scale (min {vals.min()}, max {vals.max()}); declare the assay scale "
                    "'log' or 'linear', or give upper=1 for fractions",
                    allowed=SCALES,
                )
        out[col] = spec
    return out


def to_scale(X: pd.DataFrame, scales: Mapping[str, ScaleSpec]) -> pd.DataFrame:
    """Apply every column's forward transform.

    Example:
        >>> X = pd.DataFrame({"a": [50.0]})
        >>> float(to_scale(X, {"a": ScaleSpec(kind="logit")})["a"][0])
        0.0
    """
    return pd.DataFrame(
        {c: scales[c].forward(X[c]) if c in scales else X[c].astype(float) for c in X.columns},
        index=X.index,
    )[list(X.columns)]


def from_scale(Z: pd.DataFrame, scales: Mapping[str, ScaleSpec]) -> pd.DataFrame:
    """Apply every column's inverse transform.

    Example:
        >>> Z = pd.DataFrame({"a": [0.0]})
        >>> float(from_scale(Z, {"a": ScaleSpec(kind="logit")})["a"][0])
        50.0
    """
    return pd.DataFrame(
        {c: scales[c].inverse(Z[c]) if c in scales else Z[c].astype(float) for c in Z.columns},
        index=Z.index,
    )[list(Z.columns)]
