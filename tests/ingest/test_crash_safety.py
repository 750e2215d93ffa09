"""Crash safety: SIGKILL an ingest mid-write; the store shows all of it or none of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from immunome.store import open_store
from immunome.submission import example_bundle_path

ROWS = 1_500_000


def make_big_bundle(root: Path, *, rows: int, n_features: int = 50) -> Path:
    """A valid long-format Olink bundle with ``rows`` measurements (generated, not shipped)."""
    from immunome.protocol import load_protocol

    feats = [f.id for f in load_protocol().assay("olink").features[:n_features]]
    n_p = rows // n_features
    b = root / "big"
    b.mkdir()
    pid = np.char.add("CRASH", np.arange(n_p).astype(str))
    sid = np.char.add(pid, "-d0")
    pacsv.write_csv(
        pa.table({"participant_id": pid, "age": np.full(n_p, 40), "sex": np.full(n_p, "female")}),
        b / "participants.csv",
    )
    pacsv.write_csv(
        pa.table({"sample_id": sid, "participant_id": pid, "day": np.zeros(n_p, np.int32)}),
        b / "samples.csv",
    )
    n = n_p * n_features
    pacsv.write_csv(
        pa.table(
            {
                "sample_id": pa.DictionaryArray.from_arrays(
                    np.repeat(np.arange(n_p, dtype=np.int32), n_features), pa.array(sid)
                ),
                "feature": pa.DictionaryArray.from_arrays(
                    np.tile(np.arange(n_features, dtype=np.int32), n_p), pa.array(feats)
                ),
                "value": np.random.default_rng(0).normal(5, 1, n).round(3),
            }
        ),
        b / "olink.csv",
    )
    (b / "manifest.yaml").write_text(
        "format: immunome-bundle/1\nsite: CRASH01\nprotocol_version: 1\n"
        "assays:\n  - {file: olink.csv, assay: olink, layout: long}\n"
    )
    return b


def _state(db: Path) -> tuple[int, float]:
    st = [p.stat() for p in (db, db.with_name(db.name + ".wal")) if p.exists()]
    return sum(s.st_size for s in st), max(s.st_mtime_ns for s in st)


@pytest.mark.slow
def test_sigkill_mid_write_leaves_all_or_nothing(tmp_path):
    store = open_store(tmp_path / "store")
    store.submit(example_bundle_path())
    big = make_big_bundle(tmp_path, rows=ROWS)
    baseline = _state(store.db_path)
    code = (
        "import sys; from immunome.store import open_store; "
        "open_store(sys.argv[1]).submit(sys.argv[2])"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(store.path), str(big)])
    began = False
    try:
        deadline = time.monotonic() + 900  # a safety net only, not a performance threshold
        while proc.poll() is None and time.monotonic() < deadline:
            if _state(store.db_path) != baseline:  # the transaction has started writing
                began = True
                time.sleep(0.05)
                break
            time.sleep(0.005)
        killed_while_running = proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert began, "the ingest never started writing"
    assert killed_while_running, "the ingest finished before it could be killed; raise ROWS"

    reopened = open_store(tmp_path / "store", create=False)
    summary = reopened.check()  # raises IntegrityError on any inconsistency
    subs = reopened.submissions()
    crash = subs[subs.site == "CRASH01"]
    print(f"crash outcome: {'all' if len(crash) else 'none'} of the submission")
    if len(crash):  # all of it
        assert summary["measurements"] == 119 + ROWS
        assert crash.n_measurements.tolist() == [ROWS]
    else:  # none of it
        assert summary["measurements"] == 119 and summary["submissions"] == 1
    # and the store still accepts the submission afterwards
    assert reopened.submit(big).status in ("ingested", "unchanged")
    assert reopened.check()["measurements"] == 119 + ROWS
