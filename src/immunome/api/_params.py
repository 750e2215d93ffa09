"""Shared, strictly validated request parameters (unknown characters → 422, never a lookup).

Example:
    >>> parse_by(["site", "sex"])
    ['site', 'sex']
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from immunome.api._errors import ApiError
from immunome.api._summary import DIMENSIONS, MAX_DIMS

REF_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,128}$"
FEATURE_PATTERN = r"^[A-Za-z0-9_.+%()-]{1,128}$"
SITE_PATTERN = r"^[A-Za-z0-9_-]{2,32}$"
SEARCH_PATTERN = r"^[A-Za-z0-9 _.,:+()-]{0,100}$"

ReleaseRef = Annotated[
    str,
    Path(
        pattern=REF_PATTERN,
        description="release id, unique id prefix, label, or `latest`",
        examples=["latest"],
    ),
]
Assay = Annotated[str, Path(pattern=NAME_PATTERN, description="assay id of the protocol")]
FeatureId = Annotated[str, Path(pattern=FEATURE_PATTERN, description="feature id")]
ModelName = Annotated[str, Path(pattern=NAME_PATTERN, description="registered model name")]
Layer = Annotated[
    str, Query(pattern=NAME_PATTERN, description="measurement layer (raw, normalized, harmonized…)")
]
By = Annotated[
    list[str],
    Query(description=f"up to {MAX_DIMS} of {', '.join(DIMENSIONS)}; repeat the parameter"),
]


def parse_by(by: list[str] | None) -> list[str]:
    """Check the grouping dimensions (known, distinct, at most two)."""
    by = [b for b in (by or []) if b != ""]  # `?by=` alone asks for the grand total
    bad = [b for b in by if b not in DIMENSIONS]
    if bad:
        raise ApiError(
            422,
            "validation_error",
            f"unknown dimension {bad[0]!r}",
            details={"parameter": "by", "allowed": list(DIMENSIONS)},
        )
    if len(set(by)) != len(by) or len(by) > MAX_DIMS:
        raise ApiError(
            422,
            "validation_error",
            f"give at most {MAX_DIMS} distinct dimensions in 'by'",
            details={"parameter": "by", "allowed": list(DIMENSIONS)},
        )
    return by
