"""Flags: what was left uncorrected (or corrected with caveats), and why.

Every degenerate case (a site with fewer than ``min_site_size`` participants, a constant or
all-missing feature, a site with too few values of a feature, missing protected covariates,
confounding) becomes a :class:`Flag` instead of an exception: the data stays as it was and the
report lists it.

Example:
    >>> Flag(rule="constant_feature", feature="B_cells", message="constant").to_dict()["rule"]
    'constant_feature'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

RULES: dict[str, str] = {
    "site_too_small": "site has fewer participants than min_site_size; left uncorrected",
    "all_missing": "feature has no values; left uncorrected",
    "constant_feature": "feature has no variance; left uncorrected",
    "single_site": "feature is measured at one site only; nothing to harmonise",
    "site_feature_too_few": "site has fewer than 2 values of the feature; left uncorrected",
    "site_feature_constant": "all values of the feature are identical at this site; "
    "left uncorrected",
    "missing_covariates": "samples lack a protected covariate; left uncorrected",
    "covariate_confounded": "a protected covariate is collinear with site for this feature; "
    "feature left uncorrected to avoid removing biology",
    "confounded_site": "site and a protected covariate are strongly confounded",
    "confounded_feature": "correction of this site/feature depends on the covariate model",
    "feature_not_in_model": "feature absent from the stored estimates; copied uncorrected",
    "no_bridge_samples": "site shares no bridge samples with the reference; left uncorrected",
}


@dataclass(frozen=True)
class Flag:
    """One flagged site, feature, or site × feature.

    Example:
        >>> Flag(rule="site_too_small", site="S1", message="2 participants < 3").site
        'S1'
    """

    rule: str
    message: str
    site: str | None = None
    feature: str | None = None
    corrected: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Flag:
        """Inverse of :meth:`to_dict`."""
        return cls(**dict(d))

    def __str__(self) -> str:
        where = "/".join(x for x in (self.site, self.feature) if x) or "-"
        return f"[{self.rule}] {where}: {self.message}"
