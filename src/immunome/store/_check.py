"""Store integrity check: format version, submissions bookkeeping, keys and references."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from immunome.errors import IntegrityError
from immunome.store._schema import DATA_TABLES, FORMAT_VERSION, read_version

if TYPE_CHECKING:
    from immunome.store._store import Store

_COUNTS = {
    "participants": "n_participants",
    "samples": "n_samples",
    "measurements": "n_measurements",
}

_QUERIES: list[tuple[str, str]] = [
    (
        "submission status other than active/superseded",
        "SELECT count(*) FROM submissions WHERE status NOT IN ('active', 'superseded')",
    ),
    (
        "sites with more than one active submission",
        "SELECT count(*) FROM (SELECT site FROM submissions WHERE status = 'active' "
        "GROUP BY site HAVING count(*) > 1)",
    ),
    (
        "submissions superseding an unknown submission",
        "SELECT count(*) FROM submissions WHERE supersedes IS NOT NULL AND supersedes NOT IN "
        "(SELECT submission_id FROM submissions)",
    ),
    (
        "duplicate participant keys",
        "SELECT count(*) FROM (SELECT 1 FROM participants GROUP BY submission_id, participant_id "
        "HAVING count(*) > 1)",
    ),
    (
        "duplicate sample keys",
        "SELECT count(*) FROM (SELECT 1 FROM samples GROUP BY submission_id, sample_id "
        "HAVING count(*) > 1)",
    ),
    (
        "duplicate measurement keys",
        "SELECT count(*) FROM (SELECT 1 FROM measurements "
        "GROUP BY submission_id, sample_id, assay, "
        "feature HAVING count(*) > 1)",
    ),
    (
        "samples whose participant is missing",
        "SELECT count(*) FROM samples s ANTI JOIN participants p "
        "ON s.submission_id = p.submission_id AND s.participant_id = p.participant_id",
    ),
    (
        "measurements whose sample is missing",
        "SELECT count(*) FROM measurements m ANTI JOIN samples s "
        "ON m.submission_id = s.submission_id AND m.sample_id = s.sample_id",
    ),
    (
        "QC rows whose sample is missing",
        "SELECT count(*) FROM sample_qc q ANTI JOIN samples s "
        "ON q.submission_id = s.submission_id AND q.sample_id = s.sample_id",
    ),
    (
        "participant IDs that are not pseudonyms",
        "SELECT count(*) FROM participants "
        "WHERE NOT regexp_full_match(participant_id, 'P[0-9a-f]{16}')",
    ),
    (
        "sample IDs that are not pseudonyms",
        "SELECT count(*) FROM samples WHERE NOT regexp_full_match(sample_id, 'S[0-9a-f]{16}')",
    ),
]


def check_store(store: Store) -> dict[str, Any]:
    """Verify integrity; raise :class:`IntegrityError` listing every problem, else a summary.

    Example:
        >>> store.check()["format_version"]     # doctest: +SKIP
        1
    """
    problems: list[str] = []
    with store.connect(read_only=True) as con:
        version = read_version(con)
        if version != FORMAT_VERSION:
            problems.append(f"format_version is {version}, expected {FORMAT_VERSION}")
        for t in DATA_TABLES:
            n = con.execute(
                f"SELECT count(*) FROM {t} WHERE submission_id NOT IN "
                "(SELECT submission_id FROM submissions)"
            ).fetchone()[0]
            if n:
                problems.append(f"{t}: {n} row(s) belong to no submission")
        for col, t in ((v, k) for k, v in _COUNTS.items()):
            bad = con.execute(
                f"SELECT s.submission_id, s.{col}, coalesce(c.n, 0) FROM submissions s "
                f"LEFT JOIN (SELECT submission_id, count(*) n FROM {t} GROUP BY 1) c "
                f"USING (submission_id) WHERE s.{col} <> coalesce(c.n, 0)"
            ).fetchall()
            problems += [f"{t}: submission {s} records {a} rows but holds {b}" for s, a, b in bad]
        for what, sql in _QUERIES:
            n = con.execute(sql).fetchone()[0]
            if n:
                problems.append(f"{what}: {n}")
        summary = {
            "format_version": version,
            "submissions": con.execute("SELECT count(*) FROM submissions").fetchone()[0],
            "active_submissions": con.execute(
                "SELECT count(*) FROM submissions WHERE status = 'active'"
            ).fetchone()[0],
            **{t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in DATA_TABLES},
        }
    if problems:
        raise IntegrityError(
            f"{store.db_path}: {len(problems)} integrity problem(s):\n  " + "\n  ".join(problems),
            problems=problems,
        )
    return {"ok": True, **summary}
