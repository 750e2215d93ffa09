"""Shared fixtures.

Real public data is found through ``IMMUNOME_DATA``. When the variable is set (``.ci/run`` sets
it), a missing dataset is a *failure*; when it is unset, tests look in ``../shared/data`` and
skip if it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_root() -> tuple[Path | None, bool]:
    env = os.environ.get("IMMUNOME_DATA")
    if env:
        return Path(env).resolve(), True
    guess = (REPO.parent / "shared" / "data").resolve()
    return (guess if guess.is_dir() else None), False


@pytest.fixture(scope="session")
def data_root() -> Path:
    """Root of the real public datasets (``../shared/data``)."""
    root, required = _data_root()
    if root is None or not root.is_dir():
        if required:
            pytest.fail(f"IMMUNOME_DATA={root} is set but is not a directory")
        pytest.skip("real datasets not available (set IMMUNOME_DATA)")
    return root


@pytest.fixture(scope="session")
def require_data(data_root: Path):
    """Return a function ``require_data("10kip/CyTOF_PBMC/...")`` that fails (CI) or skips."""
    _, required = _data_root()

    def _get(rel: str) -> Path:
        p = data_root / rel
        if not p.exists():
            if required:
                pytest.fail(f"dataset file missing: {p} (IMMUNOME_DATA is set)")
            pytest.skip(f"dataset file missing: {p}")
        return p

    return _get


@pytest.fixture(scope="session")
def tenkip_store(tmp_path_factory, require_data):
    """A store with every 10KIP table imported and one release created (session-wide, read-only).

    Tests must not write to it; copy it (``shutil.copytree``) to modify.
    """
    from immunome.datasets import import_10kip
    from immunome.store import open_store

    data = require_data("10kip").parent
    store = open_store(tmp_path_factory.mktemp("tenkip") / "store", create=True)
    report = import_10kip(store, data)
    store.create_release()
    store.import_report = report  # type: ignore[attr-defined]
    return store


@pytest.fixture(scope="session")
def tenkip_cohort(tenkip_store):
    """The latest release of :func:`tenkip_store` as a Cohort."""
    return tenkip_store.release("latest")
