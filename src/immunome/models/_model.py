"""The fitted model object: estimator + input schema + conformal calibration + model card.

Example:
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}); y = X["a"].to_numpy() * 2
    >>> m = fit_model(X, y, spec={"kind": "ridge", "alpha": 0.001}, name="demo", transform="identity")
    >>> round(float(m.predict(pd.DataFrame({"a": [3.5]}))["prediction"][0]), 1)
    7.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from immunome.models._estimators import make_estimator
from immunome.models._schema import add_derived, build_schema, encode, training_matrix


def conformal_quantile(abs_residuals: np.ndarray, *, alpha: float = 0.1) -> float:
    """Split-conformal quantile: the ⌈(n+1)(1−α)⌉-th smallest absolute residual."""
    r = np.sort(np.asarray(abs_residuals, dtype=float)[np.isfinite(abs_residuals)])
    if r.size == 0:
        return float("nan")
    k = min(r.size, int(np.ceil((r.size + 1) * (1 - alpha))))
    return float(r[k - 1])


@dataclass
class Model:
    """A trained model. ``predict`` re-checks inputs against ``schema`` every time."""

    name: str
    spec: dict[str, Any]
    estimator: Any
    schema: dict[str, Any]
    conformal: dict[str, Any] | None = None
    card: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    path: Path | None = None

    def predict(self, data: pd.DataFrame, *, where: str = "input") -> pd.DataFrame:
        """Predict for every row of ``data``; see :func:`immunome.models.predict`."""
        X, rep = encode(data, self.schema, where=where)
        pred = np.asarray(self.estimator.predict(X), dtype=float)
        out = pd.DataFrame({rep["id_column"] or "row": rep["ids"], "prediction": np.round(pred, 6)})
        if self.conformal and np.isfinite(self.conformal.get("q", np.nan)):
            q = self.conformal["q"]
            out["lower"], out["upper"] = np.round(pred - q, 6), np.round(pred + q, 6)
        out["rank"] = pd.Series(pred).rank(ascending=False, method="min").astype(int).to_numpy()
        out["ood"] = [bool(o) for o in rep["ood"]]
        out["ood_features"] = [";".join(o) for o in rep["ood"]]
        out["imputed"] = [";".join(i) for i in rep["imputed"]]
        out.attrs["imputed_columns"] = sorted({c for i in rep["imputed"] for c in i})
        out.attrs["ignored_columns"] = rep["ignored"]
        return out


def fit_model(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    spec: dict[str, Any],
    name: str,
    transform: str = "log1p",
    transforms: dict[str, str] | None = None,
    units: dict[str, str] | None = None,
    categories: dict[str, list[str]] | None = None,
    imputation: str = "none",
    derived: list[dict[str, Any]] | None = None,
    conformal_residuals: np.ndarray | None = None,
    alpha: float = 0.1,
    **context: Any,
) -> Model:
    """Fit ``spec`` on ``X``/``y`` and wrap it with its schema (and conformal interval if residuals given)."""
    X = add_derived(X, derived)
    schema = build_schema(
        X,
        transform=transform,
        transforms=transforms,
        units=units,
        categories=categories,
        imputation=imputation,
        derived=derived,
        **context,
    )
    est = make_estimator(spec).fit(training_matrix(X, schema), np.asarray(y, dtype=float))
    conf = None
    if conformal_residuals is not None:
        conf = {
            "method": "split-conformal on out-of-fold residuals",
            "alpha": alpha,
            "q": conformal_quantile(np.abs(conformal_residuals), alpha=alpha),
        }
    return Model(name=name, spec=spec, estimator=est, schema=schema, conformal=conf)
