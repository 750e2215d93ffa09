"""The DataFrame-level pipeline: fit/apply a method, check confounding, return one result.

:func:`harmonize_frame` is what the Cohort wrappers and the CLI call; it works on a plain
samples × features DataFrame, a ``site`` Series and a protected-covariate DataFrame, so it is
usable (and tested) without a store.

Confounding policy (``on_confounded``):

* ``"flag"`` (default): correct with the protected covariates in the model — the covariate
  effects, estimated across all sites, are kept — and name every confounded site and the
  features whose site mean is largely explained by the covariates (``confounded_site`` /
  ``confounded_feature`` flags, :class:`~immunome.errors.ConfoundingWarning`). For those
  features the correction relies on the covariate model estimated at other sites.
* ``"skip"``: leave those confounded site × feature cells uncorrected (flagged).
* ``"error"``: raise :class:`~immunome.errors.HarmonizeError`.

Example:
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> site = pd.Series(["A"] * 20 + ["B"] * 20)
    >>> X = pd.DataFrame({"f": rng.uniform(5, 20, 40) + (site == "B") * 5})
    >>> h = harmonize_frame(X, site, pd.DataFrame({"age": rng.uniform(20, 80, 40)}), scale="logit")
    >>> h.data.shape, h.method
    ((40, 1), 'combat')
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from immunome.errors import ConfoundingWarning, HarmonizeError
from immunome.harmonize._bridge import BridgeModel, apply_bridge, fit_bridge
from immunome.harmonize._combat import CombatModel, apply_combat, fit_combat
from immunome.harmonize._confounding import (
    affected_features,
    confounding_vs_reference,
    detect_confounding,
)
from immunome.harmonize._flags import Flag

METHODS = ("combat", "bridge")
CONFOUNDED = ("flag", "skip", "error")
Model = CombatModel | BridgeModel


@dataclass
class Harmonization:
    """A harmonised matrix with everything needed to store, audit and re-apply it.

    ``data`` has the input's shape; cells not corrected keep their input value and are
    ``False`` in ``corrected``; ``flags`` say why.
    """

    method: str
    data: pd.DataFrame
    corrected: pd.DataFrame
    model: Model
    flags: list[Flag]
    confounding: pd.DataFrame = field(default_factory=pd.DataFrame)
    affected: pd.DataFrame = field(default_factory=pd.DataFrame)
    assay: str | None = None
    input_layer: str | None = None
    key_added: str = "harmonized"

    def tidy(self) -> pd.DataFrame:
        """Long ``sample_id, assay, feature, value`` (NaN dropped) for ``derive_release``.

        Example:
            >>> h = Harmonization("combat", pd.DataFrame({"f": [1.0]}, index=["s1"]),
            ...                   pd.DataFrame({"f": [True]}, index=["s1"]), None, [], assay="a")
            >>> h.tidy().columns.tolist()
            ['sample_id', 'assay', 'feature', 'value']
        """
        d = self.data.copy()
        d.index.name = "sample_id"
        long = d.reset_index().melt(id_vars="sample_id", var_name="feature", value_name="value")
        long = long.dropna(subset=["value"])
        long.insert(1, "assay", self.assay or "unknown")
        return long.reset_index(drop=True)

    def estimates_json(self) -> str:
        """Method, parameters and fitted estimates as JSON."""
        return self.model.to_json()

    def summary(self) -> dict[str, Any]:
        """Counts of corrected cells and flags per rule (JSON-ready)."""
        by_rule: dict[str, int] = {}
        for f in self.flags:
            by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
        n_obs = int(self.data.notna().to_numpy().sum())
        return {
            "method": self.method,
            "assay": self.assay,
            "input_layer": self.input_layer,
            "key_added": self.key_added,
            "n_samples": int(self.data.shape[0]),
            "n_features": int(self.data.shape[1]),
            "cells_observed": n_obs,
            "cells_corrected": int(self.corrected.to_numpy().sum()),
            "flags": by_rule,
            "confounded_sites": sorted(
                set(self.confounding.loc[self.confounding["confounded"], "site"])
            )
            if len(self.confounding)
            else [],
        }

    def extras(self) -> dict[str, bytes]:
        """Files stored with the release under ``extras/harmonize/<assay>/``."""
        base = f"harmonize/{self.assay or 'unknown'}"
        flags = json.dumps([f.to_dict() for f in self.flags], indent=1, sort_keys=True)
        conf = (
            self.confounding.to_json(orient="records", indent=1) if len(self.confounding) else "[]"
        )
        aff = self.affected.to_json(orient="records", indent=1) if len(self.affected) else "[]"
        return {
            f"{base}/estimates.json": self.estimates_json().encode(),
            f"{base}/flags.json": flags.encode(),
            f"{base}/confounding.json": conf.encode(),
            f"{base}/affected_features.json": aff.encode(),
            f"{base}/summary.json": json.dumps(self.summary(), indent=1, sort_keys=True).encode(),
        }

    def provenance(self) -> dict[str, Any]:
        """Provenance entry for the derived release manifest."""
        return {
            "stage": "harmonize",
            "method": self.method,
            "assay": self.assay,
            "input_layer": self.input_layer,
            "key_added": self.key_added,
            "params": self.model.params,
            "estimates": f"extras/harmonize/{self.assay or 'unknown'}/estimates.json",
            "estimates_sha256": hashlib.sha256(self.estimates_json().encode()).hexdigest(),
        }


def harmonize_frame(
    X: pd.DataFrame,
    site: pd.Series,
    covariates: pd.DataFrame,
    *,
    method: str = "combat",
    scale: Any = "linear",
    upper: Any = 100.0,
    participants: pd.Series | None = None,
    reference: str | None = None,
    bridge: pd.Series | None = None,
    mean_only: bool = False,
    min_site_size: int = 3,
    on_confounded: Literal["flag", "skip", "error"] = "flag",
    confounding_auc: float = 0.9,
    affected_threshold: float = 0.5,
) -> Harmonization:
    """Fit ``method`` on ``X`` and harmonise it (see module docs for the options)."""
    if method not in METHODS:
        raise HarmonizeError(f"unknown harmonisation method {method!r}", allowed=METHODS)
    if on_confounded not in CONFOUNDED:
        raise HarmonizeError(f"unknown on_confounded {on_confounded!r}", allowed=CONFOUNDED)
    if method == "bridge":
        if bridge is None or reference is None:
            raise HarmonizeError("method 'bridge' needs bridge= (shared sample ids) and reference=")
        bm = fit_bridge(X, site, bridge, reference=reference, scale=scale, upper=upper)
        res = apply_bridge(bm, X, site, bridge)
        return Harmonization("bridge", res.data, res.corrected, res.model, res.flags)
    model = fit_combat(
        X,
        site,
        covariates,
        scale=scale,
        upper=upper,
        participants=participants,
        reference=reference,
        mean_only=mean_only,
        min_site_size=min_site_size,
    )
    conf = (
        detect_confounding(
            site, covariates, auc_threshold=confounding_auc, min_site_size=min_site_size
        )
        if covariates.shape[1]
        else pd.DataFrame()
    )
    conf, aff, cflags = _confounding(
        model, site, covariates, conf, affected_threshold, on_confounded
    )
    model.flags += cflags
    res = apply_combat(model, X, site, covariates, participants=participants)
    data, corrected = res.data, res.corrected
    if on_confounded == "skip" and len(aff):
        data, corrected = _restore(X, site, data, corrected, aff[aff["affected"]])
    return Harmonization("combat", data, corrected, res.model, res.flags, conf, aff)


def apply_frame(
    model: Model | str | bytes,
    X: pd.DataFrame,
    site: pd.Series,
    covariates: pd.DataFrame,
    *,
    participants: pd.Series | None = None,
    bridge: pd.Series | None = None,
    on_confounded: Literal["flag", "skip", "error"] = "flag",
    confounding_auc: float = 0.9,
    affected_threshold: float = 0.5,
) -> Harmonization:
    """Apply stored estimates (frozen mode): known sites use them as is, new sites are estimated.

    A new site is checked for confounding against the fitted samples' covariate summary (same
    rules and ``on_confounded`` policy as :func:`harmonize_frame`).

    Example:
        >>> X = pd.DataFrame({"f": [1.0, 2, 3, 5, 6, 7]}); s = pd.Series(list("AAABBB"))
        >>> h = harmonize_frame(X, s, pd.DataFrame(index=range(6)))
        >>> apply_frame(h.estimates_json(), X, s, pd.DataFrame(index=range(6))).data.equals(h.data)
        True
    """
    if isinstance(model, str | bytes):
        model = load_estimates(model)
    if isinstance(model, BridgeModel):
        res = apply_bridge(model, X, site, bridge)
        return Harmonization("bridge", res.data, res.corrected, res.model, res.flags)
    if on_confounded not in CONFOUNDED:
        raise HarmonizeError(f"unknown on_confounded {on_confounded!r}", allowed=CONFOUNDED)
    res = apply_combat(model, X, site, covariates, participants=participants)
    present = set(site.astype(str))
    new = sorted(
        s for s, e in res.model.sites.items() if e.source == "frozen-apply" and s in present
    )
    conf = confounding_vs_reference(res.model, site, covariates, new, auc_threshold=confounding_auc)
    conf, aff, cflags = _confounding(
        res.model, site, covariates, conf, affected_threshold, on_confounded
    )
    data, corrected = res.data, res.corrected
    if on_confounded == "skip" and len(aff):
        data, corrected = _restore(X, site, data, corrected, aff[aff["affected"]])
    return Harmonization("combat", data, corrected, res.model, res.flags + cflags, conf, aff)


def load_estimates(text: str | bytes) -> Model:
    """Load a ComBat or bridge estimate file written by :meth:`Harmonization.estimates_json`.

    Example:
        >>> load_estimates('{"format": "x"}')  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        immunome.errors.HarmonizeError: not an immunome harmonisation estimate file ...
    """
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise HarmonizeError(f"estimates are not JSON: line {e.lineno} column {e.colno}") from e
    if d.get("format") != "immunome-harmonize/1":
        raise HarmonizeError(
            f"not an immunome harmonisation estimate file (format {d.get('format')!r})",
            allowed=["immunome-harmonize/1"],
        )
    if d.get("method") == "bridge":
        return BridgeModel.from_json(text)
    return CombatModel.from_dict(d)


def _confounding(
    model: CombatModel,
    site: pd.Series,
    covariates: pd.DataFrame,
    conf: pd.DataFrame,
    threshold: float,
    policy: str,
) -> tuple[pd.DataFrame, pd.DataFrame, list[Flag]]:
    if conf.empty:
        return conf, pd.DataFrame(), []
    bad = conf[conf["confounded"]]
    sites = sorted(set(bad["site"]) & set(model.sites))
    aff = affected_features(model, site, covariates, sites, threshold=threshold)
    if not sites:
        return conf, aff, []
    corrected = policy != "skip"
    how = (
        "corrected with the covariate model estimated across sites"
        if corrected
        else "left uncorrected (on_confounded='skip')"
    )
    flags = [
        Flag(rule="confounded_site", site=r.site, message=r.detail, corrected=True)
        for r in bad.itertuples()
    ]
    hit = aff[aff["affected"]]
    flags += [
        Flag(
            rule="confounded_feature",
            site=r.site,
            feature=r.feature,
            corrected=corrected,
            message=f"protected covariates explain a {r.shift_sd:+.2f} SD shift of this site's "
            f"mean; {how}",
        )
        for r in hit.itertuples()
    ]
    msg = (
        f"site and protected covariates are confounded at {sites}: "
        f"{len(hit)} site × feature cells depend on the covariate model "
        f"({', '.join(f'{s}: {int((hit.site == s).sum())}' for s in sites)}); see the report"
    )
    if policy == "error":
        raise HarmonizeError(msg + " (on_confounded='error')", allowed=CONFOUNDED)
    warnings.warn(msg, ConfoundingWarning, stacklevel=3)
    return conf, aff, flags


def _restore(
    X: pd.DataFrame,
    site: pd.Series,
    data: pd.DataFrame,
    corrected: pd.DataFrame,
    hit: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    data, corrected = data.copy(), corrected.copy()
    s_arr = site.astype(str).to_numpy()
    for r in hit.itertuples():
        rows = s_arr == r.site
        col = list(data.columns).index(r.feature)
        data.iloc[np.flatnonzero(rows), col] = X.iloc[np.flatnonzero(rows), col].astype(float)
        corrected.iloc[np.flatnonzero(rows), col] = False
    return data, corrected
