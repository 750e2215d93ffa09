"""The store: one DuckDB file + a secret key + releases, with migrations and integrity checks.

Example:
    >>> import tempfile
    >>> from immunome.store import open_store
    >>> from immunome.submission import example_bundle_path
    >>> store = open_store(tempfile.mkdtemp() + "/store")
    >>> store.submit(example_bundle_path()).status
    'ingested'
    >>> store.check()["ok"]
    True
"""

from immunome.store._ingest import SubmitResult
from immunome.store._pseudonym import pseudonyms
from immunome.store._schema import FORMAT_VERSION, MIGRATIONS
from immunome.store._store import DB_NAME, Store, default_store_path, open_store

__all__ = [
    "DB_NAME",
    "FORMAT_VERSION",
    "MIGRATIONS",
    "Store",
    "SubmitResult",
    "default_store_path",
    "open_store",
    "pseudonyms",
]
