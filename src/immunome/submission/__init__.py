"""Site submission bundles: read safely, validate against the protocol, clean for ingestion.

Example:
    >>> from immunome.submission import example_bundle_path, validate_bundle
    >>> report = validate_bundle(example_bundle_path())
    >>> report.ok
    True
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from immunome.submission._bundle import (
    MAX_FILES,
    MAX_RATIO,
    MAX_TOTAL_BYTES,
    Bundle,
    BundleFile,
    read_bundle,
)
from immunome.submission._manifest import BUNDLE_FORMAT, AssayFile, Manifest, QcFile
from immunome.submission._prepare import PreparedSubmission, prepare_submission, validate_bundle
from immunome.submission._report import Issue, ValidationReport


def example_bundle_path() -> Path:
    """Path of the shipped example bundle (``examples/bundle-minimal``).

    Example:
        >>> (example_bundle_path() / "manifest.yaml").is_file()
        True
    """
    return Path(str(resources.files("immunome") / "examples" / "bundle-minimal"))


__all__ = [
    "BUNDLE_FORMAT",
    "MAX_FILES",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "AssayFile",
    "Bundle",
    "BundleFile",
    "Issue",
    "Manifest",
    "PreparedSubmission",
    "QcFile",
    "ValidationReport",
    "example_bundle_path",
    "prepare_submission",
    "read_bundle",
    "validate_bundle",
]
