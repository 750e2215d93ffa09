"""The shipped example bundle validates, cleans and ingests end to end."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd

from immunome.store import open_store
from immunome.submission import (
    example_bundle_path,
    prepare_submission,
    read_bundle,
    validate_bundle,
)


def test_example_bundle_is_valid_with_no_issue():
    report = validate_bundle(example_bundle_path())
    assert report.ok
    assert report.issues == []
    assert report.site == "EXAMPLE01"
    assert len(report.content_sha256) == 64


def test_prepare_gives_clean_canonical_tables():
    prep = prepare_submission(example_bundle_path())
    p = prep.participants.set_index("participant_id")
    assert p.loc["EX-003", "age"] == 90  # 93 top-coded (HIPAA Safe Harbor)
    assert p.loc["EX-002", "sex"] == "male"  # synonym M
    assert p.loc["EX-003", "race"] == "Black or African American"  # synonym Black
    assert p.loc["EX-005", "race"] == "Unknown"  # synonym Not Specified
    assert p.loc["EX-003", "cmv_serostatus"] == "positive"
    assert json.loads(p.loc["EX-001", "extra"]) == {"cohort": "A"}
    m = prep.measurements.to_pandas()
    assert list(m.columns) == ["sample_id", "assay", "feature", "value", "unit"]
    # wide aliases map to canonical ids, the NA cell is dropped, not stored
    cytof = m[m.assay == "cytof_pbmc"]
    assert set(cytof.feature) >= {"t_cell", "cd4_t_cell", "treg", "naive_cd4_t_cell"}
    assert len(cytof) == 10 * 8 - 1
    assert not ((cytof.sample_id == "EX-005-D0") & (cytof.feature == "treg")).any()
    cyto = m[m.assay == "multiplex_cytokines"]
    assert set(cyto.feature) == {"il6", "tnf", "cxcl10", "ifng"}
    assert set(cyto[cyto.feature == "cxcl10"].unit) == {"ng/mL"}  # unit as given, canonical symbol
    assert len(prep.qc) == 10


def test_zip_and_directory_have_the_same_content_hash(tmp_path: Path):
    src = example_bundle_path()
    zpath = tmp_path / "b.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(src.iterdir(), reverse=True):  # different order, nested folder
            zf.write(f, f"bundle-minimal/{f.name}")
    assert read_bundle(zpath).manifest.site == "EXAMPLE01"
    assert validate_bundle(zpath).content_sha256 == validate_bundle(src).content_sha256


def test_example_ingests_and_store_check_passes(tmp_path: Path):
    store = open_store(tmp_path / "s")
    res = store.submit(example_bundle_path())
    assert (res.status, res.n_participants, res.n_samples, res.n_measurements) == (
        "ingested",
        6,
        10,
        119,
    )
    summary = store.check()
    assert summary["measurements"] == 119 and summary["active_submissions"] == 1
    with store.connect() as con:
        m = con.execute("SELECT * FROM active_measurements").df()
        p = con.execute("SELECT * FROM active_participants").df()
    assert m.sample_id.str.fullmatch(r"S[0-9a-f]{16}").all()
    assert p.participant_id.str.fullmatch(r"P[0-9a-f]{16}").all()
    assert sorted(p.age.tolist())[-1] == 90
    subs = store.submissions()
    assert isinstance(subs, pd.DataFrame) and subs.status.tolist() == ["active"]
