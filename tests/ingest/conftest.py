"""Fixtures for the ingestion tests: editable copies of the example bundle and a seeded store."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from immunome.store import open_store
from immunome.submission import example_bundle_path


def sha256_file(p: Path) -> str:
    """sha256 of a file's bytes ('' if it does not exist)."""
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else ""


def store_fingerprint(store_dir: Path) -> tuple[str, str]:
    """Hashes of the DuckDB file and its WAL: must not change when a submission is refused."""
    db = store_dir / "immunome.duckdb"
    return sha256_file(db), sha256_file(db.with_name(db.name + ".wal"))


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A fresh, editable copy of the shipped example bundle."""
    dest = tmp_path / "bundle"
    shutil.copytree(example_bundle_path(), dest)
    return dest


@pytest.fixture
def edit() -> Callable[..., None]:
    """``edit(path, old, new)``: replace text in a bundle file (must occur)."""

    def _edit(path: Path, old: str, new: str, *, count: int = 1) -> None:
        text = path.read_text()
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, count))

    return _edit


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory: pytest.TempPathFactory):
    """A store that already holds the example submission (so its DB file is non-trivial).

    Module-scoped: tests using it must leave it unchanged (refused submissions do).
    """
    store = open_store(tmp_path_factory.mktemp("seeded") / "store")
    assert store.submit(example_bundle_path()).status == "ingested"
    return store


@pytest.fixture
def fingerprint() -> Callable[[Path], tuple[str, str]]:
    """``fingerprint(store_dir)`` → hashes of the DuckDB file and WAL."""
    return store_fingerprint
