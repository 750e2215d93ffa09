"""Pinned public datasets (10KIP, CMI-PB, FlowKit) and their importers.

Sources are pinned by repository commit and per-file sha256 (``sources.yaml``); ``IMMUNOME_DATA``
points at a local mirror that overrides downloads. Nothing is downloaded at import time.

Example:
    >>> from immunome.datasets import list_datasets
    >>> [d.name for d in list_datasets()]
    ['10kip', 'cmipb', 'flow']
"""

from __future__ import annotations

from typing import Any

from immunome.datasets._fetch import default_cache_dir, fetch, sha256_file, verify_file
from immunome.datasets._import_report import FileReport, ImportReport, Rejection, SiteReport
from immunome.datasets._registry import Dataset, DatasetFile, get_dataset, list_datasets
from immunome.datasets._tenkip import import_10kip, load_10kip_normalized
from immunome.datasets._tenkip_read import TABLES as TENKIP_TABLES
from immunome.datasets._tenkip_read import read_10kip_table


def import_cmipb(store: Any, data_dir: Any, **kwargs: Any) -> Any:
    """Import CMI-PB (see :mod:`immunome.datasets._cmipb`, loaded on first use)."""
    from immunome.datasets._cmipb import import_cmipb as _impl

    return _impl(store, data_dir, **kwargs)


__all__ = [
    "TENKIP_TABLES",
    "Dataset",
    "DatasetFile",
    "FileReport",
    "ImportReport",
    "Rejection",
    "SiteReport",
    "default_cache_dir",
    "fetch",
    "get_dataset",
    "import_10kip",
    "import_cmipb",
    "list_datasets",
    "load_10kip_normalized",
    "read_10kip_table",
    "sha256_file",
    "verify_file",
]
