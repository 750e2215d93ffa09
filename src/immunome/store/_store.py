"""The :class:`Store`: a directory holding one DuckDB file, a secret key, releases and models."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from immunome.errors import StoreError
from immunome.protocol import Protocol, load_protocol
from immunome.store._check import check_store
from immunome.store._ingest import SubmitResult, submit
from immunome.store._pseudonym import load_secret, secret_path
from immunome.store._schema import FORMAT_VERSION, check_version, migrate, read_version
from immunome.submission import ValidationReport, validate_bundle

if TYPE_CHECKING:
    from immunome.cohort import Cohort

DB_NAME = "immunome.duckdb"
STORE_ENV = "IMMUNOME_STORE"
DEFAULT_STORE = "immunome-store"


def default_store_path(path: str | Path | None = None) -> Path:
    """``path``, else ``$IMMUNOME_STORE``, else ``./immunome-store``.

    Example:
        >>> default_store_path("x").name
        'x'
    """
    if path is not None:
        return Path(path)
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


class Store:
    """A store directory. Create with :func:`open_store` (or ``immunome.open``).

    Example:
        >>> import tempfile
        >>> from immunome.submission import example_bundle_path
        >>> store = open_store(tempfile.mkdtemp() + "/s")
        >>> store.submit(example_bundle_path()).status
        'ingested'
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db_path = self.path / DB_NAME

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # plumbing -----------------------------------------------------------------------------
    @contextmanager
    def connect(self, *, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived DuckDB connection to the store file (closed on exit)."""
        if not self.db_path.exists():
            raise StoreError(f"{self.db_path}: store database is missing")
        try:
            con = duckdb.connect(str(self.db_path), read_only=read_only)
        except duckdb.Error as e:
            raise StoreError(f"{self.db_path}: cannot open store database ({e})") from e
        try:
            yield con
        finally:
            con.close()

    def secret(self) -> bytes:
        """The store's HMAC key (kept outside the database)."""
        return load_secret(self.path, create=False)

    @property
    def secret_path(self) -> Path:
        """Location of the HMAC key (``$IMMUNOME_SECRET_FILE`` overrides)."""
        return secret_path(self.path)

    @property
    def format_version(self) -> int:
        """Format version recorded in ``store_meta``."""
        with self.connect(read_only=True) as con:
            return read_version(con)

    def protocol(
        self, protocol_id: str = "global-immunome-study", version: int | None = None
    ) -> Protocol:
        """A protocol version known to this store (shipped protocols)."""
        return load_protocol(protocol_id, version)

    # ingestion ----------------------------------------------------------------------------
    def validate(
        self, bundle: str | Path, *, protocol: Protocol | str | Path | None = None
    ) -> ValidationReport:
        """Validate a bundle; writes nothing."""
        return validate_bundle(bundle, protocol=protocol)

    def submit(
        self, bundle: str | Path, *, protocol: Protocol | str | Path | None = None
    ) -> SubmitResult:
        """Validate then ingest a bundle atomically; raises ``ValidationFailed`` if invalid."""
        return submit(self, bundle, protocol=protocol)

    def submissions(self, *, site: str | None = None, status: str | None = None) -> pd.DataFrame:
        """Submission history (newest last), optionally filtered."""
        sql = (
            "SELECT submission_id, site, protocol, protocol_version, content_sha256, "
            "submitted_at, status, supersedes, n_participants, n_samples, n_measurements "
            "FROM submissions WHERE (? IS NULL OR site = ?) AND (? IS NULL OR status = ?) "
            "ORDER BY submitted_at, submission_id"
        )
        with self.connect(read_only=True) as con:
            return con.execute(sql, [site, site, status, status]).df()

    def check(self) -> dict[str, Any]:
        """Integrity check; raises ``IntegrityError`` listing problems, else returns a summary."""
        return check_store(self)

    # releases (implemented in immunome.store._release) --------------------------------------
    def create_release(self, *, label: str | None = None):
        """Snapshot the active submissions into an immutable release."""
        from immunome.store import _release

        return _release.create_release(self, label=label)

    def releases(self):
        """Releases of this store, oldest first."""
        from immunome.store import _release

        return _release.releases(self)

    def release(self, ref: str = "latest") -> Cohort:
        """Open a release as a :class:`~immunome.cohort.Cohort`."""
        from immunome.store import _release

        return _release.release(self, ref)

    def verify_release(self, ref: str = "latest"):
        """Re-hash every file of a release against its manifest."""
        from immunome.store import _release

        return _release.verify_release(self, ref)

    def export_release(self, ref: str, dest: str | Path):
        """Copy a release folder to ``dest``."""
        from immunome.store import _release

        return _release.export_release(self, ref, dest)

    def derive_release(
        self,
        *,
        parent: str,
        layers: dict[str, Any],
        extras: dict[str, Any] | None = None,
        provenance: dict[str, Any] | None = None,
        label: str | None = None,
    ):
        """A new release = ``parent`` + extra measurement layers (never an overwrite)."""
        from immunome.store import _release

        return _release.derive_release(
            self, parent=parent, layers=layers, extras=extras, provenance=provenance, label=label
        )


def open_store(path: str | Path | None = None, *, create: bool = True) -> Store:
    """Open a store directory, creating (``immunome init``) it on first use if ``create``.

    Opening an existing, current store never writes to it. Older formats are migrated;
    newer ones raise :class:`~immunome.errors.StoreError`.

    Example:
        >>> import tempfile
        >>> open_store(tempfile.mkdtemp() + "/s").format_version
        2
    """
    store = Store(default_store_path(path))
    if store.path.exists() and not store.path.is_dir():
        raise StoreError(f"{store.path}: a store must be a directory")
    if not store.db_path.exists():
        if not create:
            raise StoreError(f"{store.path}: no store here (run `immunome init`)")
        store.path.mkdir(parents=True, exist_ok=True)
        (store.path / "releases").mkdir(exist_ok=True)
        (store.path / "models").mkdir(exist_ok=True)
    load_secret(store.path, create=create)
    if store.db_path.exists():
        with store.connect(read_only=True) as con:
            version = read_version(con)
        check_version(version, str(store.db_path))
        if version == FORMAT_VERSION:
            return store
    try:
        con = duckdb.connect(str(store.db_path))
    except duckdb.Error as e:
        raise StoreError(f"{store.db_path}: cannot open store database ({e})") from e
    try:
        migrate(con, str(store.db_path))
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return store
