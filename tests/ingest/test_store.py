"""Store behaviour: no-op resubmission, supersession with history, versions, secret, check."""

from __future__ import annotations

import stat
from pathlib import Path

import duckdb
import pytest

from immunome.errors import IntegrityError, StoreError
from immunome.store import FORMAT_VERSION, MIGRATIONS, open_store
from immunome.submission import example_bundle_path


def test_identical_resubmission_is_a_noop(seeded_store, fingerprint):
    before = fingerprint(seeded_store.path)
    res = seeded_store.submit(example_bundle_path())
    assert res.status == "unchanged"
    assert res.n_measurements == 119
    assert fingerprint(seeded_store.path) == before
    assert len(seeded_store.submissions()) == 1


def test_corrected_resubmission_supersedes_and_keeps_history(tmp_path, bundle, edit):
    store = open_store(tmp_path / "s")
    first = store.submit(example_bundle_path())
    edit(bundle / "cytof_pbmc.csv", "EX-001-D0,49.7,", "EX-001-D0,50.1,")
    second = store.submit(bundle)
    assert second.status == "superseded" and second.supersedes == first.submission_id
    subs = store.submissions(site="EXAMPLE01")
    assert subs.set_index("submission_id").status.to_dict() == {
        first.submission_id: "superseded",
        second.submission_id: "active",
    }
    with store.connect() as con:
        assert con.execute("SELECT count(*) FROM measurements").fetchone()[0] == 2 * 119
        active = con.execute("SELECT DISTINCT submission_id FROM active_measurements").fetchall()
        assert active == [(second.submission_id,)]
        v = con.execute(
            "SELECT value FROM active_measurements WHERE feature = 't_cell' "
            "AND value > 50 AND value < 50.2"
        ).fetchall()
        assert v == [(50.1,)]
    # going back to the first content is a new submission again (history grows)
    third = store.submit(example_bundle_path())
    assert third.status == "superseded" and third.supersedes == second.submission_id
    assert store.submissions(status="superseded").shape[0] == 2
    assert store.check()["active_submissions"] == 1


def test_other_site_does_not_supersede(tmp_path, bundle, edit):
    store = open_store(tmp_path / "s")
    store.submit(example_bundle_path())
    edit(bundle / "manifest.yaml", "site: EXAMPLE01", "site: EXAMPLE02")
    assert store.submit(bundle).status == "ingested"
    assert store.submissions(status="active").shape[0] == 2


def test_current_store_opens_and_migrations_are_steps(tmp_path):
    assert FORMAT_VERSION == 2 and sorted(MIGRATIONS) == list(range(1, FORMAT_VERSION + 1))
    store = open_store(tmp_path / "s")
    assert store.format_version == 2
    again = open_store(tmp_path / "s", create=False)
    assert again.format_version == 2
    with again.connect() as con:
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
    assert {
        "store_meta",
        "submissions",
        "participants",
        "samples",
        "measurements",
        "sample_qc",
        "active_measurements",
    } <= tables


def test_future_format_version_is_a_clear_error(tmp_path):
    store = open_store(tmp_path / "s")
    con = duckdb.connect(str(store.db_path))
    con.execute("UPDATE store_meta SET value = '99' WHERE key = 'format_version'")
    con.close()
    with pytest.raises(StoreError, match="format version 99 is newer"):
        open_store(tmp_path / "s")


def test_missing_store_without_create(tmp_path):
    with pytest.raises(StoreError, match="immunome init"):
        open_store(tmp_path / "nope", create=False)


def test_secret_is_private_and_outside_the_db(tmp_path, monkeypatch):
    store = open_store(tmp_path / "s")
    key = tmp_path / "s" / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().strip() not in store.db_path.read_bytes()
    other = tmp_path / "elsewhere" / "k"
    monkeypatch.setenv("IMMUNOME_SECRET_FILE", str(other))
    s2 = open_store(tmp_path / "s2")
    assert other.exists() and not (tmp_path / "s2" / "secret.key").exists()
    assert s2.secret_path == other


def test_pseudonyms_depend_on_the_store_key(tmp_path):
    a, b = open_store(tmp_path / "a"), open_store(tmp_path / "b")
    for s in (a, b):
        s.submit(example_bundle_path())
    q = "SELECT participant_id FROM participants ORDER BY 1"
    with a.connect() as ca, b.connect() as cb:
        assert ca.execute(q).fetchall() != cb.execute(q).fetchall()


def test_check_lists_every_problem(tmp_path):
    store = open_store(tmp_path / "s")
    store.submit(example_bundle_path())
    con = duckdb.connect(str(store.db_path))
    con.execute(
        "INSERT INTO measurements VALUES ('ghost', 'S0000000000000000', 'cytof_pbmc', "
        "'t_cell', 1.0, '%')"
    )
    con.execute("DELETE FROM samples WHERE sample_id IN (SELECT sample_id FROM samples LIMIT 1)")
    con.close()
    with pytest.raises(IntegrityError) as exc:
        store.check()
    text = str(exc.value)
    assert "measurements: 1 row(s) belong to no submission" in text
    assert "samples: submission" in text and "measurements whose sample is missing" in text
    assert len(exc.value.context["problems"]) >= 3


def test_raw_ids_never_reach_the_db_file(tmp_path: Path):
    store = open_store(tmp_path / "s")
    store.submit(example_bundle_path())
    store.check()
    blob = b"".join(p.read_bytes() for p in (tmp_path / "s").rglob("*") if p.is_file())
    for raw in (b"EX-001", b"EX-006-D7", b"EX-003-D0", b"EX-0"):
        assert raw not in blob
    # sanity: the grep would find a value that is stored
    assert b"EXAMPLE01" in blob


def test_store_written_by_format_v1_stays_readable(tmp_path, monkeypatch):
    """``fixtures/store-v1.duckdb.gz``: the example bundle ingested by format version 1."""
    import gzip
    import shutil

    fx = Path(__file__).parent / "fixtures"
    (tmp_path / "old").mkdir()
    with (
        gzip.open(fx / "store-v1.duckdb.gz") as src,
        open(tmp_path / "old" / "immunome.duckdb", "wb") as dst,
    ):
        shutil.copyfileobj(src, dst)
    shutil.copy(fx / "store-v1.secret.key", tmp_path / "old" / "secret.key")
    store = open_store(tmp_path / "old", create=False)  # migrates v1 -> v2 in one transaction
    summary = store.check()
    assert (summary["format_version"], summary["measurements"], summary["participants"]) == (
        2,
        119,
        6,
    )
    assert store.submit(example_bundle_path()).status == "unchanged"
    with store.connect() as con:
        cols = [r[0] for r in con.execute("DESCRIBE measurements").fetchall()]
        assert "site" not in cols
        sites = con.execute("SELECT DISTINCT site FROM active_measurements").fetchall()
    assert sites == [("EXAMPLE01",)]
    store.create_release()
    assert store.release().matrix("cytof_pbmc").shape[0] > 0


def test_raw_ids_never_reach_a_release_either(tmp_path: Path):
    store = open_store(tmp_path / "s")
    store.submit(example_bundle_path())
    info = store.create_release()
    files = [p for p in Path(info.path).rglob("*") if p.is_file()]
    assert files
    blob = b"".join(p.read_bytes() for p in files)
    for raw in (b"EX-001", b"EX-006-D7", b"EX-0"):
        assert raw not in blob


def test_pseudonyms_equal_standard_hmac_sha256():
    """The fast path (precomputed HMAC states) gives exactly RFC 2104 HMAC-SHA256."""
    import hmac

    from immunome.store import pseudonyms

    for key in (b"k" * 32, b"x" * 64, b"long-key" * 20):
        ids = ["SUB116449", "EX-001", "", "ü-42"]
        want = [
            "P" + hmac.new(key, f"SITE1:{i}".encode(), "sha256").digest()[:8].hex() for i in ids
        ]
        assert pseudonyms(key, "SITE1", ids, prefix="P") == want
