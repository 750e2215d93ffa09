"""Encode protected covariates (age, sex, …) into a numeric design, frozen at fit time.

Numeric covariates are used as-is (one column); categorical ones become treatment-coded dummies
with the first level (sorted) as baseline. "Unknown"-like categories (``unknown``, ``not
reported``, ``unknown or not reported``, ``na``, empty) count as missing: such samples are left
uncorrected and flagged rather than getting a category of their own. The encoding is stored so
that a site harmonised
later gets exactly the same columns; an unseen category is an error, not a silent guess.

Example:
    >>> import pandas as pd
    >>> enc = CovariateEncoder.fit(pd.DataFrame({"age": [30, 40], "sex": ["Female", "Male"]}))
    >>> enc.columns
    ['age', 'sex[Male]']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from immunome.errors import HarmonizeError

MISSING_TOKENS = frozenset(
    {"", "na", "nan", "none", "unknown", "not reported", "unknown or not reported"}
)


def clean_categorical(s: pd.Series) -> pd.Series:
    """Strings with "unknown"-like values turned into missing (None).

    Example:
        >>> clean_categorical(pd.Series(["Male", "Unknown", None])).tolist()
        ['Male', None, None]
    """
    out = s.astype(object).where(s.notna(), None)
    return out.map(
        lambda v: None if v is None or str(v).strip().lower() in MISSING_TOKENS else str(v)
    )


@dataclass(frozen=True)
class CovariateEncoder:
    """Frozen encoding of protected covariates.

    Example:
        >>> enc = CovariateEncoder.fit(pd.DataFrame({"age": [1.0, 2.0]}))
        >>> enc.transform(pd.DataFrame({"age": [3.0]})).tolist()
        [[3.0]]
    """

    numeric: tuple[str, ...] = ()
    categorical: dict[str, list[str]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """Names of the design columns, in order."""
        cols = list(self.numeric)
        for name, levels in self.categorical.items():
            cols += [f"{name}[{lv}]" for lv in levels[1:]]
        return cols

    @classmethod
    def fit(cls, covariates: pd.DataFrame) -> CovariateEncoder:
        """Learn numeric/categorical columns and the category levels."""
        numeric: list[str] = []
        categorical: dict[str, list[str]] = {}
        for col in covariates.columns:
            s = covariates[col]
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                numeric.append(str(col))
            else:
                categorical[str(col)] = sorted(map(str, clean_categorical(s).dropna().unique()))
        return cls(numeric=tuple(numeric), categorical=categorical)

    def missing(self, covariates: pd.DataFrame) -> pd.Series:
        """Boolean Series: rows with any protected covariate missing."""
        cols = [*self.numeric, *self.categorical]
        absent = [c for c in cols if c not in covariates.columns]
        if absent:
            raise HarmonizeError(
                f"protected covariates missing from the sample table: {absent}",
                allowed=list(covariates.columns),
            )
        miss = covariates[list(self.numeric)].isna().any(axis=1)
        for c in self.categorical:
            miss |= clean_categorical(covariates[c]).isna()
        return miss

    def transform(self, covariates: pd.DataFrame) -> np.ndarray:
        """Design matrix (rows × columns) for rows without missing covariates."""
        self.missing(covariates)
        parts = [covariates[c].astype(float).to_numpy()[:, None] for c in self.numeric]
        for name, levels in self.categorical.items():
            vals = covariates[name].astype(str)
            unknown = sorted(set(vals) - set(levels))
            if unknown:
                raise HarmonizeError(
                    f"covariate {name!r}: categories {unknown} were not seen when fitting",
                    allowed=levels,
                )
            parts += [(vals == lv).to_numpy(float)[:, None] for lv in levels[1:]]
        if not parts:
            return np.zeros((len(covariates), 0))
        return np.hstack(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        return {"numeric": list(self.numeric), "categorical": self.categorical}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CovariateEncoder:
        """Inverse of :meth:`to_dict`."""
        return cls(
            numeric=tuple(d.get("numeric", ())),
            categorical={k: list(v) for k, v in d.get("categorical", {}).items()},
        )
