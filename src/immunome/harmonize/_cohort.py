"""Cohort-level verbs: ``fit``, ``apply``, ``report`` over a release, and ``derive``.

They read ``cohort.matrix(assay, layer=...)`` and ``cohort.obs(assay)`` (site, age, sex, …),
take each feature's scale from the release feature catalogue (``features.scale``, set by the
protocol: logit for % frequencies, log for concentrations/titers), call the DataFrame core, and
return a :class:`~immunome.harmonize.Harmonization`. ``derive`` writes it as a new layer of a
derived release, with the estimates under ``extras/harmonize/<assay>/``; ``raw`` and
``normalized`` are never touched.

Example:
    >>> import immunome
    >>> from immunome import harmonize
    >>> store = immunome.open("store")                                     # doctest: +SKIP
    >>> h = harmonize.fit(store.release("latest"), assay="cytof_pbmc")     # doctest: +SKIP
    >>> info = harmonize.derive(store, [h])                                # doctest: +SKIP
    >>> store.release(info.release_id).matrix("cytof_pbmc", layer="harmonized")  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from immunome.errors import HarmonizeError
from immunome.harmonize._flags import Flag
from immunome.harmonize._harmonization import (
    Harmonization,
    Model,
    apply_frame,
    harmonize_frame,
    load_estimates,
)
from immunome.harmonize._report import Report, build_report
from immunome.harmonize._scales import ScaleSpec


def default_layer(cohort: Any) -> str:
    """``normalized`` (canonical units) when the release has it, else ``raw``."""
    return "normalized" if "normalized" in cohort.layers else "raw"


def assay_scales(cohort: Any, assay: str) -> dict[str, ScaleSpec]:
    """Per-feature :class:`ScaleSpec` from the release's feature catalogue.

    ``%`` features use ``upper=100``; ``fraction`` ones ``upper=1``; a missing scale is linear.
    """
    f = cohort.features
    f = f[f["assay"] == assay]
    out: dict[str, ScaleSpec] = {}
    for row in f.itertuples():
        kind = getattr(row, "scale", None) or "linear"
        unit = str(getattr(row, "unit", "") or "")
        out[str(row.feature)] = ScaleSpec(
            kind=str(kind), upper=1.0 if unit == "fraction" else 100.0
        )
    return out


def _inputs(
    cohort: Any,
    assay: str,
    layer: str,
    protected: Sequence[str],
    visit: str | None,
    day: int | None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    X = cohort.matrix(assay, layer=layer, visit=visit, day=day)
    obs = cohort.obs(assay, layer=layer, visit=visit, day=day).reindex(X.index)
    missing = [c for c in ("site", *protected) if c not in obs.columns]
    if missing:
        raise HarmonizeError(
            f"release {cohort.release_id}: obs of {assay!r} lacks {missing}",
            allowed=list(obs.columns),
        )
    cov = obs[list(protected)].copy()
    for c in cov.columns:
        if pd.api.types.is_numeric_dtype(cov[c]):
            cov[c] = cov[c].astype(float)
        else:
            cov[c] = cov[c].astype(object).where(cov[c].notna(), None)
    return X, obs, cov


def fit(
    cohort: Any,
    *,
    assay: str,
    method: str = "combat",
    protected: Sequence[str] = ("age", "sex"),
    layer: str | None = None,
    key_added: str = "harmonized",
    reference: str | None = None,
    bridge: str | None = None,
    on_confounded: Literal["flag", "skip", "error"] = "flag",
    min_site_size: int = 3,
    mean_only: bool = False,
    visit: str | None = None,
    day: int | None = None,
) -> Harmonization:
    """Fit ``method`` on one assay of a release and harmonise it.

    ``bridge`` names the obs column holding the shared bridge/control-sample id (method
    ``"bridge"``; non-bridge samples NaN).

    Example:
        >>> h = fit(cohort, assay="cytof_pbmc", protected=("age", "sex"))   # doctest: +SKIP
    """
    layer = layer or default_layer(cohort)
    X, obs, cov = _inputs(cohort, assay, layer, protected, visit, day)
    h = harmonize_frame(
        X,
        obs["site"].astype(str),
        cov,
        method=method,
        scale=assay_scales(cohort, assay),
        participants=obs.get("participant_id"),
        reference=reference,
        bridge=_bridge(obs, bridge),
        mean_only=mean_only,
        min_site_size=min_site_size,
        on_confounded=on_confounded,
    )
    h.assay, h.input_layer, h.key_added = assay, layer, key_added
    return h


def apply(
    cohort: Any,
    *,
    assay: str,
    estimates: Model | str | bytes | Path,
    layer: str | None = None,
    key_added: str = "harmonized",
    bridge: str | None = None,
    on_confounded: Literal["flag", "skip", "error"] = "flag",
    visit: str | None = None,
    day: int | None = None,
) -> Harmonization:
    """Apply stored estimates to a release (frozen mode: no refit; new sites estimated).

    ``estimates`` is a fitted model, its JSON, a path to it, or a release (Cohort) that carries
    ``extras/harmonize/<assay>/estimates.json``.

    Example:
        >>> h = apply(new_cohort, assay="cytof_pbmc", estimates=old_cohort)  # doctest: +SKIP
    """
    model = _load(estimates, assay)
    layer = layer or default_layer(cohort)
    protected = (
        [*model.encoder.numeric, *model.encoder.categorical] if hasattr(model, "encoder") else []
    )
    X, obs, cov = _inputs(cohort, assay, layer, protected, visit, day)
    feats = [c for c in X.columns if c in model.features]
    extra = [c for c in X.columns if c not in model.features]
    h = apply_frame(
        model,
        X[feats],
        obs["site"].astype(str),
        cov,
        participants=obs.get("participant_id"),
        bridge=_bridge(obs, bridge),
        on_confounded=on_confounded,
    )
    if extra:
        h.data = pd.concat([h.data, X[extra].astype(float)], axis=1)[list(X.columns)]
        h.corrected = h.corrected.reindex(columns=list(X.columns), fill_value=False)
        h.flags = h.flags + [
            Flag(
                rule="feature_not_in_model",
                feature=c,
                message="feature not in the stored estimates; copied uncorrected",
            )
            for c in extra
        ]
    h.assay, h.input_layer, h.key_added = assay, layer, key_added
    return h


def report(
    cohort: Any,
    *,
    assay: str,
    out: str | Path,
    layers: Sequence[str] | None = None,
    protected: Sequence[str] = ("age", "sex"),
    harmonization: Harmonization | None = None,
    visit: str | None = None,
    day: int | None = None,
) -> Report:
    """Diagnostics of ``assay`` for each layer (first = baseline), written to ``out``.

    Default layers: the input layer, plus ``harmonized`` if the release has it, plus the
    in-memory ``harmonization`` if given.

    Example:
        >>> rep = report(cohort, assay="cytof_pbmc", out="report/")   # doctest: +SKIP
    """
    base = default_layer(cohort)
    names = (
        list(layers)
        if layers
        else [base] + [n for n in cohort.layers if n not in ("raw", "normalized", base)]
    )
    mats: dict[str, pd.DataFrame] = {}
    for n in names:
        mats[n] = cohort.matrix(assay, layer=n, visit=visit, day=day)
    if harmonization is not None:
        mats[harmonization.key_added + " (new)"] = harmonization.data
    X, obs, cov = _inputs(cohort, assay, names[0], protected, visit, day)
    idx = X.index
    for n in list(mats):
        mats[n] = mats[n].reindex(index=mats[n].index.intersection(idx))
    return build_report(
        mats,
        obs["site"].astype(str),
        cov,
        out=out,
        title=f"Harmonisation report — {assay} (release {cohort.release_id})",
        scale=assay_scales(cohort, assay),
        flags=harmonization.flags if harmonization else (),
        affected=harmonization.affected if harmonization else None,
    )


def derive(
    store: Any,
    results: Sequence[Harmonization],
    *,
    parent: str = "latest",
    label: str | None = None,
    extras: dict[str, bytes] | None = None,
) -> Any:
    """Write harmonised assays as new layer(s) of a derived release; returns its ``ReleaseInfo``.

    Example:
        >>> derive(store, [fit(cohort, assay="cytof_pbmc")])   # doctest: +SKIP
    """
    if not results:
        raise HarmonizeError("nothing to derive: no harmonisation results given")
    layers: dict[str, list[pd.DataFrame]] = {}
    files: dict[str, bytes] = dict(extras or {})
    for h in results:
        layers.setdefault(h.key_added, []).append(h.tidy())
        files.update(h.extras())
    provenance = {
        "stage": "harmonize",
        "steps": [h.provenance() for h in results],
    }
    kwargs: dict[str, Any] = {"label": label} if label is not None else {}
    return store.derive_release(
        parent=parent,
        layers={k: pd.concat(v, ignore_index=True) for k, v in layers.items()},
        extras=files,
        provenance=provenance,
        **kwargs,
    )


def stored_estimates(cohort: Any, assay: str) -> bytes:
    """The estimates JSON stored with a harmonised release.

    Example:
        >>> stored_estimates(cohort, "cytof_pbmc")[:1]   # doctest: +SKIP
        b'{'
    """
    f = Path(cohort.path) / "extras" / "harmonize" / assay / "estimates.json"
    if not f.exists():
        raise HarmonizeError(
            f"release {cohort.release_id} has no harmonisation estimates for {assay!r} ({f})"
        )
    return f.read_bytes()


def _load(estimates: Any, assay: str) -> Model:
    if hasattr(estimates, "release_id") and hasattr(estimates, "path"):
        return load_estimates(stored_estimates(estimates, assay))
    if isinstance(estimates, Path) or (
        isinstance(estimates, str) and not estimates.lstrip().startswith("{")
    ):
        p = Path(estimates)
        if not p.exists():
            raise HarmonizeError(f"estimates file not found: {p}")
        return load_estimates(p.read_bytes())
    if isinstance(estimates, str | bytes):
        return load_estimates(estimates)
    return estimates


def _bridge(obs: pd.DataFrame, column: str | None) -> pd.Series | None:
    if column is None:
        return None
    if column not in obs.columns:
        raise HarmonizeError(f"bridge column {column!r} not in obs", allowed=list(obs.columns))
    return obs[column]


_ = json
