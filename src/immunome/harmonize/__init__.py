"""Cross-site harmonisation: diagnostics, ComBat with protected covariates, frozen mode, bridges.

Cohort verbs (``fit``, ``apply``, ``report``, ``derive``) work on releases; the DataFrame core
(``harmonize_frame``, ``apply_frame``, ``combat``, ``fit_combat``, ``apply_combat``,
``bridge_normalize``, ``build_report``) works on a samples × features matrix, a ``site`` Series
and a protected-covariate DataFrame. See ``docs/harmonize.md``.

Example:
    >>> import numpy as np, pandas as pd
    >>> from immunome import harmonize
    >>> rng = np.random.default_rng(0)
    >>> site = pd.Series(["A"] * 20 + ["B"] * 20)
    >>> X = pd.DataFrame({"f": rng.normal(size=40) + (site == "B") * 3})
    >>> h = harmonize.harmonize_frame(X, site, pd.DataFrame({"age": rng.uniform(20, 80, 40)}))
    >>> bool(abs(h.data.f[site == "B"].mean() - h.data.f[site == "A"].mean()) < 0.5)
    True
"""

from __future__ import annotations

from immunome.harmonize._bridge import BridgeModel, apply_bridge, bridge_normalize, fit_bridge
from immunome.harmonize._cohort import (
    apply,
    assay_scales,
    default_layer,
    derive,
    fit,
    report,
    stored_estimates,
)
from immunome.harmonize._combat import CombatModel, apply_combat, combat, fit_combat
from immunome.harmonize._confounding import affected_features, detect_confounding
from immunome.harmonize._flags import RULES, Flag
from immunome.harmonize._harmonization import (
    Harmonization,
    apply_frame,
    harmonize_frame,
    load_estimates,
)
from immunome.harmonize._metrics import loso_age_mae, pca_silhouette, variance_explained
from immunome.harmonize._report import Report, build_report, compare, layer_metrics
from immunome.harmonize._scales import SCALES, ScaleSpec, from_scale, resolve_scales, to_scale

__all__ = [
    "RULES",
    "SCALES",
    "BridgeModel",
    "CombatModel",
    "Flag",
    "Harmonization",
    "Report",
    "ScaleSpec",
    "affected_features",
    "apply",
    "apply_bridge",
    "apply_combat",
    "apply_frame",
    "assay_scales",
    "bridge_normalize",
    "build_report",
    "combat",
    "compare",
    "default_layer",
    "derive",
    "detect_confounding",
    "fit",
    "fit_bridge",
    "fit_combat",
    "from_scale",
    "harmonize_frame",
    "layer_metrics",
    "load_estimates",
    "loso_age_mae",
    "pca_silhouette",
    "report",
    "resolve_scales",
    "stored_estimates",
    "to_scale",
    "variance_explained",
]
