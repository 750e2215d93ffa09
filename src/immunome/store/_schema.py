"""Store schema (format version 1) and migrations.

``MIGRATIONS[n]`` upgrades a store from format ``n - 1`` to ``n`` (``MIGRATIONS[1]`` creates an
empty v1 store). Opening a store whose version is newer than :data:`FORMAT_VERSION` is an error.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from immunome.errors import StoreError

FORMAT_VERSION = 2

PARTICIPANT_COLUMNS = [
    "participant_id",
    "age",
    "sex",
    "race",
    "ethnicity",
    "cmv_serostatus",
    "smoking",
    "bmi",
    "infancy_vaccine",
    "vaccination_history",
    "extra",
]
SAMPLE_COLUMNS = ["sample_id", "participant_id", "visit", "day", "batch", "sample_type"]
MEASUREMENT_COLUMNS = ["sample_id", "assay", "feature", "value", "unit"]
QC_COLUMNS = ["sample_id", "assay", "metric", "value", "flag"]
DATA_TABLES = ("participants", "samples", "measurements", "sample_qc")

_V1 = """
CREATE TABLE store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE submissions (
    submission_id VARCHAR PRIMARY KEY,
    site VARCHAR NOT NULL,
    protocol VARCHAR NOT NULL,
    protocol_version INTEGER NOT NULL,
    content_sha256 VARCHAR NOT NULL,
    submitted_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('active', 'superseded')),
    supersedes VARCHAR,
    manifest VARCHAR NOT NULL,
    report VARCHAR NOT NULL,
    n_participants BIGINT NOT NULL,
    n_samples BIGINT NOT NULL,
    n_measurements BIGINT NOT NULL
);
CREATE TABLE participants (
    submission_id VARCHAR NOT NULL, site VARCHAR NOT NULL, participant_id VARCHAR NOT NULL,
    age DOUBLE, sex VARCHAR, race VARCHAR, ethnicity VARCHAR, cmv_serostatus VARCHAR,
    smoking VARCHAR, bmi DOUBLE, infancy_vaccine VARCHAR, vaccination_history VARCHAR,
    extra VARCHAR
);
CREATE TABLE samples (
    submission_id VARCHAR NOT NULL, site VARCHAR NOT NULL, sample_id VARCHAR NOT NULL,
    participant_id VARCHAR NOT NULL, visit VARCHAR, day INTEGER, batch VARCHAR,
    sample_type VARCHAR
);
CREATE TABLE measurements (
    submission_id VARCHAR NOT NULL, site VARCHAR NOT NULL, sample_id VARCHAR NOT NULL,
    assay VARCHAR NOT NULL, feature VARCHAR NOT NULL, value DOUBLE NOT NULL, unit VARCHAR
);
CREATE TABLE sample_qc (
    submission_id VARCHAR NOT NULL, site VARCHAR NOT NULL, sample_id VARCHAR NOT NULL,
    assay VARCHAR, metric VARCHAR NOT NULL, value DOUBLE, flag VARCHAR
);
CREATE TABLE releases (
    release_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, parent VARCHAR, label VARCHAR,
    content_sha256 VARCHAR, manifest VARCHAR
);
"""


def _views() -> str:
    return "\n".join(
        f"CREATE OR REPLACE VIEW active_{t} AS SELECT x.* FROM {t} x "
        f"JOIN submissions s USING (submission_id) WHERE s.status = 'active';"
        for t in DATA_TABLES
    )


def _to_v1(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_V1)
    con.execute(_views())


def _to_v2(con: duckdb.DuckDBPyConnection) -> None:
    """v2: ``measurements`` drops its per-row ``site`` (it is the submission's site).

    The column was pure redundancy on the largest table; removing it cuts bulk-insert time by
    ~20% (see bench/ingest.py). ``active_measurements`` keeps ``site`` through the join.
    """
    con.execute("DROP VIEW IF EXISTS active_measurements")
    con.execute("ALTER TABLE measurements DROP COLUMN site")
    con.execute(
        "CREATE OR REPLACE VIEW active_measurements AS SELECT x.*, s.site FROM measurements x "
        "JOIN submissions s USING (submission_id) WHERE s.status = 'active'"
    )


#: One function per version step: ``MIGRATIONS[n]`` takes a store from ``n - 1`` to ``n``.
MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {1: _to_v1, 2: _to_v2}


def read_version(con: duckdb.DuckDBPyConnection) -> int:
    """Format version of an open store (0 for an empty database)."""
    has = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'store_meta'"
    ).fetchone()
    if not has or not has[0]:
        return 0
    row = con.execute("SELECT value FROM store_meta WHERE key = 'format_version'").fetchone()
    if row is None:
        raise StoreError("store_meta has no format_version; not an immunome store")
    try:
        return int(row[0])
    except ValueError as e:
        raise StoreError(f"store_meta.format_version is {row[0]!r}, not an integer") from e


def check_version(version: int, where: str) -> None:
    """Raise a clear :class:`StoreError` for versions this code cannot read."""
    if version > FORMAT_VERSION:
        raise StoreError(
            f"{where}: store format version {version} is newer than this immunome supports "
            f"({FORMAT_VERSION}); upgrade immunome to open it",
            allowed=list(range(1, FORMAT_VERSION + 1)),
        )


def migrate(con: duckdb.DuckDBPyConnection, where: str) -> int:
    """Bring the store to :data:`FORMAT_VERSION` in one transaction; return the old version."""
    old = read_version(con)
    check_version(old, where)
    if old == FORMAT_VERSION:
        return old
    con.execute("BEGIN TRANSACTION")
    try:
        for step in range(old + 1, FORMAT_VERSION + 1):
            MIGRATIONS[step](con)
        con.execute(
            "INSERT OR REPLACE INTO store_meta VALUES ('format_version', ?)", [str(FORMAT_VERSION)]
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return old
