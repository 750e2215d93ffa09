"""Submit a validated bundle: pseudonymise, then write everything in ONE transaction."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from immunome.errors import ValidationFailed
from immunome.store._pseudonym import pseudonyms
from immunome.store._schema import PARTICIPANT_COLUMNS, QC_COLUMNS, SAMPLE_COLUMNS
from immunome.submission import PreparedSubmission, ValidationReport, prepare_submission

if TYPE_CHECKING:
    from immunome.protocol import Protocol
    from immunome.store._store import Store


@dataclass(frozen=True)
class SubmitResult:
    """Outcome of :meth:`Store.submit`.

    ``status`` is ``ingested`` (first submission of the site), ``superseded`` (this submission
    replaced the site's active one, named in ``supersedes``) or ``unchanged`` (identical content
    is already active; nothing was written).
    """

    status: Literal["ingested", "superseded", "unchanged"]
    submission_id: str
    site: str
    content_sha256: str
    supersedes: str | None = None
    n_participants: int = 0
    n_samples: int = 0
    n_measurements: int = 0
    report: ValidationReport | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no report)."""
        return {
            k: getattr(self, k)
            for k in (
                "status",
                "submission_id",
                "site",
                "content_sha256",
                "supersedes",
                "n_participants",
                "n_samples",
                "n_measurements",
            )
        }


class _Mapper:
    """Pseudonymise raw IDs of one site, computing each HMAC once."""

    def __init__(self, key: bytes, site: str, prefix: str) -> None:
        self.key, self.site, self.prefix = key, site, prefix
        self.cache: dict[str, str] = {}

    def lookup(self, values) -> list[str | None]:
        todo = [v for v in dict.fromkeys(values) if v is not None and v not in self.cache]
        self.cache.update(
            zip(todo, pseudonyms(self.key, self.site, todo, prefix=self.prefix), strict=True)
        )
        return [None if v is None else self.cache[v] for v in values]

    def series(self, s: pd.Series) -> pd.Series:
        codes, uniq = pd.factorize(s)
        mapped = np.array(self.lookup([str(u) for u in uniq]) + [None], dtype=object)
        return pd.Series(mapped[codes], index=s.index, dtype=object)

    def dict_column(self, col: pa.ChunkedArray) -> pa.ChunkedArray:
        chunks = [
            pa.DictionaryArray.from_arrays(
                ch.indices, pa.array(self.lookup(ch.dictionary.to_pylist()), pa.string())
            )
            for ch in col.chunks
        ]
        return pa.chunked_array(chunks, type=col.type)


@dataclass
class _Rows:
    participants: pd.DataFrame
    samples: pd.DataFrame
    measurements: pa.Table
    qc: pd.DataFrame


def _pseudonymise(prep: PreparedSubmission, key: bytes, site: str) -> _Rows:
    pmap, smap = _Mapper(key, site, "P"), _Mapper(key, site, "S")
    p = prep.participants.copy()
    p["participant_id"] = pmap.series(p["participant_id"])
    s = prep.samples.copy()
    s["sample_id"] = smap.series(s["sample_id"])
    s["participant_id"] = pmap.series(s["participant_id"])
    m = prep.measurements
    if m is None:
        from immunome.submission._measurements import CLEAN_SCHEMA

        m = CLEAN_SCHEMA.empty_table()
    else:
        m = m.set_column(0, "sample_id", smap.dict_column(m.column("sample_id")))
    q = prep.qc if prep.qc is not None else pd.DataFrame(columns=QC_COLUMNS)
    q = q.copy()
    q["sample_id"] = smap.series(q["sample_id"])
    return _Rows(p[PARTICIPANT_COLUMNS], s[SAMPLE_COLUMNS], m, q[QC_COLUMNS])


def _report_json(report: ValidationReport) -> str:
    # messages may quote raw IDs: keep only where/what, never the text
    d = report.to_dict()
    d["issues"] = [
        {k: i[k] for k in ("file", "line", "column", "rule", "severity")} for i in d["issues"]
    ]
    d.pop("source", None)
    return json.dumps(d, sort_keys=True)


def _next_id(con, site: str, sha: str) -> str:
    n = con.execute("SELECT count(*) FROM submissions WHERE site = ?", [site]).fetchone()[0]
    return f"{site}-{n + 1:04d}-{sha[:8]}"


def _active(con, site: str) -> tuple[str, str, int, int, int] | None:
    row = con.execute(
        "SELECT submission_id, content_sha256, n_participants, n_samples, n_measurements "
        "FROM submissions WHERE site = ? AND status = 'active'",
        [site],
    ).fetchone()
    return tuple(row) if row else None  # type: ignore[return-value]


def submit(
    store: Store, bundle: str | Path, *, protocol: Protocol | str | Path | None = None
) -> SubmitResult:
    """Validate ``bundle`` and ingest it into ``store`` atomically (see :class:`SubmitResult`)."""
    prep = prepare_submission(bundle, protocol=protocol)
    if not prep.ok:
        raise ValidationFailed(
            f"{bundle}: bundle is invalid ({prep.report.n_errors()} error(s)); nothing was written",
            report=prep.report,
        )
    assert prep.manifest is not None and prep.participants is not None and prep.samples is not None
    site, sha = prep.manifest.site, prep.content_sha256
    with store.connect(read_only=True) as con:
        active = _active(con, site)
    if active and active[1] == sha:
        return SubmitResult(
            "unchanged", active[0], site, sha, None, *active[2:], report=prep.report
        )
    rows = _pseudonymise(prep, store.secret(), site)
    counts = (len(rows.participants), len(rows.samples), rows.measurements.num_rows)
    with store.connect(read_only=False) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            active = _active(con, site)
            if active and active[1] == sha:
                con.execute("ROLLBACK")
                return SubmitResult(
                    "unchanged", active[0], site, sha, None, *active[2:], report=prep.report
                )
            sub_id = _next_id(con, site, sha)
            _write(con, sub_id, site, prep, rows, active[0] if active else None, counts)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    status = "superseded" if active else "ingested"
    return SubmitResult(
        status, sub_id, site, sha, active[0] if active else None, *counts, report=prep.report
    )


def _write(
    con,
    sub_id: str,
    site: str,
    prep: PreparedSubmission,
    rows: _Rows,
    old: str | None,
    counts: tuple[int, int, int],
) -> None:
    m = prep.manifest
    assert m is not None
    if old:
        con.execute("UPDATE submissions SET status = 'superseded' WHERE submission_id = ?", [old])
    con.execute(
        "INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)",
        [
            sub_id,
            site,
            m.protocol,
            m.protocol_version,
            prep.content_sha256,
            datetime.now(UTC).replace(tzinfo=None),
            old,
            m.model_dump_json(),
            _report_json(prep.report),
            *counts,
        ],
    )
    tag = [sub_id, site]
    p = rows.participants
    p_age = p["age"].astype(float)
    p = p.assign(age=p_age, bmi=p["bmi"].astype(float))
    con.register("_in_p", p)
    con.execute(
        f"INSERT INTO participants SELECT ?, ?, {', '.join(PARTICIPANT_COLUMNS)} FROM _in_p", tag
    )
    s = rows.samples.assign(day=rows.samples["day"].astype("Int32"))
    con.register("_in_s", s)
    con.execute(f"INSERT INTO samples SELECT ?, ?, {', '.join(SAMPLE_COLUMNS)} FROM _in_s", tag)
    con.execute("SET preserve_insertion_order = false")  # lets the bulk insert run in parallel
    con.register("_in_m", rows.measurements)
    con.execute(
        "INSERT INTO measurements SELECT ?, sample_id, assay, feature, value, unit FROM _in_m",
        tag[:1],
    )
    q = rows.qc.assign(value=rows.qc["value"].astype(float))
    if len(q):
        con.register("_in_q", q)
        con.execute(f"INSERT INTO sample_qc SELECT ?, ?, {', '.join(QC_COLUMNS)} FROM _in_q", tag)
    for name in ("_in_p", "_in_s", "_in_m", "_in_q"):
        with contextlib.suppress(Exception):  # not registered
            con.unregister(name)
