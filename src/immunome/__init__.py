"""immunome — validate, ingest, release, harmonise, model and serve multi-site immune-profiling data.

Example:
    >>> import immunome
    >>> store = immunome.open("my-store")                 # doctest: +SKIP
    >>> store.submit("site-bundle/")                      # doctest: +SKIP
    >>> cohort = store.release("latest")                  # doctest: +SKIP
    >>> cohort.to_anndata("cytof_pbmc")                   # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from immunome import errors
from immunome.cohort import Cohort
from immunome.protocol import load_protocol

if TYPE_CHECKING:
    from pathlib import Path

    from immunome.store import Store

__version__ = "0.1.0"


def open(path: str | Path, *, create: bool = True) -> Store:  # noqa: A001 - the public verb
    """Open (or create) a store directory.

    Example:
        >>> store = immunome.open("my-store")   # doctest: +SKIP
    """
    from immunome.store import open_store

    return open_store(path, create=create)


def validate_bundle(path: str | Path, **kwargs: Any):
    """Validate a submission bundle without touching any store (see :mod:`immunome.submission`)."""
    from immunome.submission import validate_bundle as _v

    return _v(path, **kwargs)


__all__ = ["Cohort", "errors", "load_protocol", "open", "validate_bundle", "__version__"]
