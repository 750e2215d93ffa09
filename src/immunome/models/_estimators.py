"""Estimators whose fitted state is plain JSON (plus LightGBM's own text format) — never pickle.

Every estimator is built from a JSON-able *spec* and round-trips through ``to_state`` /
``from_state``; loading only parses JSON numbers and LightGBM model text, so it cannot run code.

Example:
    >>> import numpy as np
    >>> est = make_estimator({"kind": "ridge", "alpha": 1.0})
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0]]); y = np.array([1.0, 2.0, 3.0, 4.0])
    >>> round(float(est.fit(X, y).predict(np.array([[2.5]]))[0]), 1)
    2.5
"""

from __future__ import annotations

from typing import Any

import numpy as np

from immunome.errors import ModelError

KINDS = ("mean", "ridge", "elasticnet", "lasso", "lightgbm", "kdm", "svr", "ensemble")


def _impute(X: np.ndarray, fill: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(X), fill[None, :], X)


def _standardize(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Median-impute then z-score ``X``; returns (fill, center, scale, Z) for JSON state."""
    fill = np.nan_to_num(np.nanmedian(X, axis=0))
    Z = _impute(X, fill)
    center = Z.mean(axis=0)
    sd = Z.std(axis=0)
    scale = np.where(sd > 0, sd, 1.0)
    return fill, center, scale, (Z - center) / scale


class MeanRegressor:
    """Predict the training mean (the trivial baseline)."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.mean_ = 0.0

    def fit(self, X: np.ndarray, y: np.ndarray) -> MeanRegressor:
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.mean_)

    def to_state(self) -> tuple[dict[str, Any], dict[str, str]]:
        return {"mean": self.mean_}, {}

    def load_state(self, state: dict[str, Any], blobs: dict[str, str]) -> None:
        self.mean_ = float(state["mean"])


class LinearRegressor:
    """Median-impute, standardise, then ridge / lasso / elastic net (alpha chosen by inner CV if None)."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec

    def fit(self, X: np.ndarray, y: np.ndarray) -> LinearRegressor:
        from sklearn import linear_model as lm

        self.fill_, self.center_, self.scale_, Z = _standardize(X)
        kind, alpha = self.spec["kind"], self.spec.get("alpha")
        seed = int(self.spec.get("seed", 0))
        if kind == "ridge":
            model = lm.Ridge(alpha=1.0 if alpha is None else alpha)
        elif alpha is None:
            l1 = 1.0 if kind == "lasso" else self.spec.get("l1_ratio", [0.1, 0.5, 0.9])
            cv = min(5, max(2, len(y) // 4))
            model = lm.ElasticNetCV(
                l1_ratio=l1,
                cv=cv,
                alphas=int(self.spec.get("n_alphas", 30)),
                max_iter=5000,
                tol=1e-3,
                random_state=seed,
            )
        else:
            l1 = 1.0 if kind == "lasso" else self.spec.get("l1_ratio", 0.5)
            model = lm.ElasticNet(alpha=alpha, l1_ratio=l1, max_iter=20000, random_state=seed)
        model.fit(Z, y)
        self.coef_ = np.asarray(model.coef_, dtype=float)
        self.intercept_ = float(model.intercept_)
        self.alpha_ = float(getattr(model, "alpha_", getattr(model, "alpha", 0.0)))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        Z = (_impute(X, self.fill_) - self.center_) / self.scale_
        return Z @ self.coef_ + self.intercept_

    def to_state(self) -> tuple[dict[str, Any], dict[str, str]]:
        keys = ("fill_", "center_", "scale_", "coef_")
        state = {k.rstrip("_"): getattr(self, k).tolist() for k in keys}
        state.update(intercept=self.intercept_, alpha=self.alpha_)
        return state, {}

    def load_state(self, state: dict[str, Any], blobs: dict[str, str]) -> None:
        for k in ("fill", "center", "scale", "coef"):
            setattr(self, k + "_", np.asarray(state[k], dtype=float))
        self.intercept_ = float(state["intercept"])
        self.alpha_ = float(state["alpha"])


LGB_DEFAULTS: dict[str, Any] = {
    "objective": "regression",
    "learning_rate": 0.01,
    "num_leaves": 8,
    "min_data_in_leaf": 15,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "feature_fraction": 0.5,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}


class LightGBMRegressor:
    """Gradient boosting (LightGBM); saved as LightGBM's own text model format."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec

    def fit(self, X: np.ndarray, y: np.ndarray) -> LightGBMRegressor:
        import lightgbm as lgb

        params = {
            **LGB_DEFAULTS,
            **self.spec.get("params", {}),
            "seed": int(self.spec.get("seed", 0)),
        }
        data = lgb.Dataset(X, label=y, params={"verbosity": -1})
        self.booster_ = lgb.train(
            params, data, num_boost_round=int(self.spec.get("n_estimators", 1000))
        )
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster_.predict(X, num_threads=1), dtype=float)

    def to_state(self) -> tuple[dict[str, Any], dict[str, str]]:
        return {"blob": "lightgbm.txt"}, {"lightgbm.txt": self.booster_.model_to_string()}

    def load_state(self, state: dict[str, Any], blobs: dict[str, str]) -> None:
        import lightgbm as lgb

        try:
            self.booster_ = lgb.Booster(model_str=blobs[state["blob"]])
        except Exception as e:  # LightGBM raises its own error types on bad text
            raise ModelError(f"LightGBM model text {state['blob']} cannot be parsed: {e}") from e


class KDMRegressor:
    """Klemera–Doubal style inverse regression: features ~ age, then the most likely age.

    Each feature is regressed on age (linear); the residual covariance is Ledoit–Wolf shrunk.
    Prediction minimises the Mahalanobis distance over an age grid (missing features are
    marginalised), plus ``prior`` × a Gaussian prior on the training ages. Less pulled towards
    the training mean than forward regression, which matters when sites differ in age range.
    """

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec

    def fit(self, X: np.ndarray, y: np.ndarray) -> KDMRegressor:
        from sklearn.covariance import LedoitWolf

        self.fill_ = np.nan_to_num(np.nanmedian(X, axis=0))
        Z = _impute(X, self.fill_)
        B = np.column_stack([np.ones(len(y)), y])
        self.W_ = np.linalg.lstsq(B, Z, rcond=None)[0]
        R = Z - B @ self.W_
        self.precision_ = np.linalg.pinv(LedoitWolf().fit(R).covariance_)
        lo, hi = float(np.min(y)), float(np.max(y))
        pad = 0.1 * (hi - lo)
        self.grid_ = np.linspace(lo - pad, hi + pad, 401)
        self.mu_, self.sd_ = float(np.mean(y)), float(np.std(y) or 1.0)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        M = np.column_stack([np.ones(len(self.grid_)), self.grid_]) @ self.W_
        prior = float(self.spec.get("prior", 0.0)) * ((self.grid_ - self.mu_) / self.sd_) ** 2
        out = np.empty(len(X))
        miss = np.isnan(X)
        for pattern in np.unique(miss, axis=0):
            rows = np.where((miss == pattern).all(axis=1))[0]
            o = ~pattern
            P = self.precision_[np.ix_(o, o)]
            D = X[rows][:, None, o] - M[None, :, o]
            ll = np.einsum("rgj,jk,rgk->rg", D, P, D) + prior[None, :]
            out[rows] = self.grid_[np.argmin(ll, axis=1)]
        return out

    def to_state(self) -> tuple[dict[str, Any], dict[str, str]]:
        keys = ("fill_", "W_", "precision_", "grid_")
        state = {k.rstrip("_"): np.asarray(getattr(self, k)).tolist() for k in keys}
        state.update(mu=self.mu_, sd=self.sd_)
        return state, {}

    def load_state(self, state: dict[str, Any], blobs: dict[str, str]) -> None:
        for k in ("fill", "W", "precision", "grid"):
            setattr(self, k + "_", np.asarray(state[k], dtype=float))
        self.mu_, self.sd_ = float(state["mu"]), float(state["sd"])


class SVRRegressor:
    """Median-impute, standardise, RBF-kernel support vector regression (ε-insensitive, robust to outliers).

    Kernel SVR scales quadratically, so above ``max_samples`` rows (default 5000) it is fitted on a
    seeded random subsample of that size. Saved as support vectors + dual coefficients; prediction
    is plain numpy.
    """

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec

    def fit(self, X: np.ndarray, y: np.ndarray) -> SVRRegressor:
        from sklearn.svm import SVR

        self.fill_, self.center_, self.scale_, Z = _standardize(X)
        model = SVR(
            C=float(self.spec.get("C", 100.0)),
            epsilon=float(self.spec.get("epsilon", 1.0)),
            gamma="scale",
        )
        cap = int(self.spec.get("max_samples", 5000))
        if len(y) > cap:
            keep = np.sort(
                np.random.default_rng(int(self.spec.get("seed", 0))).choice(
                    len(y), cap, replace=False
                )
            )
            Z, y = Z[keep], y[keep]
        model.fit(Z, y)
        self.sv_ = np.asarray(model.support_vectors_, dtype=float)
        self.dual_ = np.asarray(model.dual_coef_, dtype=float).ravel()
        self.intercept_ = float(model.intercept_[0])
        self.gamma_ = float(model._gamma)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        Z = (_impute(X, self.fill_) - self.center_) / self.scale_
        out = np.empty(len(Z))
        sv2 = (self.sv_**2).sum(1)[None, :]
        for i in range(0, len(Z), 4096):  # bounded memory for large inputs
            z = Z[i : i + 4096]
            d2 = (z**2).sum(1)[:, None] + sv2 - 2 * z @ self.sv_.T
            out[i : i + 4096] = (
                np.exp(-self.gamma_ * np.clip(d2, 0, None)) @ self.dual_ + self.intercept_
            )
        return out

    def to_state(self) -> tuple[dict[str, Any], dict[str, str]]:
        keys = ("fill_", "center_", "scale_", "sv_", "dual_")
        state = {k.rstrip("_"): getattr(self, k).tolist() for k in keys}
        state.update(intercept=self.intercept_, gamma=self.gamma_)
        return state, {}

    def load_state(self, state: dict[str, Any], blobs: dict[str, str]) -> None:
        for k in ("fill", "center", "scale", "sv", "dual"):
            setattr(self, k + "_", np.asarray(state[k], dtype=float))
        self.intercept_, self.gamma_ = float(state["intercept"]), float(state["gamma"])


class EnsembleRegressor:
    """Unweighted mean of member estimators (each given by its own spec)."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.members = [make_estimator(m) for m in spec["members"]]

    def fit(self, X: np.ndarray, y: np.ndarray) -> EnsembleRegressor:
        for m in self.members:
            m.fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.mean([m.predict(X) for m in self.members], axis=0)

    def to_state(self) -> tuple[dict[str, Any], dict[str, str]]:
        states, blobs = [], {}
        for i, m in enumerate(self.members):
            s, b = m.to_state()
            renamed = {f"m{i}_{k}": v for k, v in b.items()}
            if "blob" in s:
                s = {**s, "blob": f"m{i}_{s['blob']}"}
            states.append(s)
            blobs.update(renamed)
        return {"members": states}, blobs

    def load_state(self, state: dict[str, Any], blobs: dict[str, str]) -> None:
        for m, s in zip(self.members, state["members"], strict=True):
            m.load_state(s, blobs)


_CLASSES = {
    "mean": MeanRegressor,
    "ridge": LinearRegressor,
    "elasticnet": LinearRegressor,
    "lasso": LinearRegressor,
    "lightgbm": LightGBMRegressor,
    "kdm": KDMRegressor,
    "svr": SVRRegressor,
    "ensemble": EnsembleRegressor,
}


def make_estimator(spec: dict[str, Any]):
    """Build an unfitted estimator from its JSON spec (``{"kind": ..., ...}``)."""
    kind = spec.get("kind")
    if kind not in _CLASSES:
        raise ModelError(f"unknown estimator kind {kind!r}", allowed=KINDS)
    return _CLASSES[kind](spec)


def estimator_from_state(spec: dict[str, Any], state: dict[str, Any], blobs: dict[str, str]):
    """Rebuild a fitted estimator from its spec, JSON state and text blobs (no code is executed)."""
    est = make_estimator(spec)
    try:
        est.load_state(state, blobs)
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(f"estimator state for kind {spec.get('kind')!r} is malformed: {e}") from e
    return est
