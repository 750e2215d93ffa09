"""Real data: a 10KIP CyTOF study as a wide bundle (aliases, NA cells, repeated subjects).

Zalocusky et al., "The 10,000 Immunomes Project", Cell Reports 2018 (ImmPort open data).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from immunome.store import open_store
from immunome.submission import validate_bundle

CYTOF = "10kip/CyTOF_PBMC/cytof_pbmc_formatted.csv"


def _bundle_from_10kip(src: Path, dest: Path, study: str) -> tuple[Path, list[str]]:
    df = pd.read_csv(src)
    df = df[df.study_accession == study].reset_index(drop=True)
    assert len(df) > 0
    df["sample_id"] = (
        df.subject_accession + "-" + df.groupby("subject_accession").cumcount().astype(str)
    )
    dest.mkdir()
    people = df.drop_duplicates("subject_accession")
    pd.DataFrame(
        {
            "participant_id": people.subject_accession,
            "age": people.age,
            "sex": people.gender,
            "race": people.race,
        }
    ).to_csv(dest / "participants.csv", index=False)
    pd.DataFrame(
        {"sample_id": df.sample_id, "participant_id": df.subject_accession, "day": 0}
    ).to_csv(dest / "samples.csv", index=False)
    feats = [
        c
        for c in df.columns
        if c not in ("study_accession", "age", "gender", "race", "subject_accession", "sample_id")
    ]
    df[["sample_id", *feats]].to_csv(dest / "cytof.csv", index=False, na_rep="NA")
    (dest / "manifest.yaml").write_text(
        f"format: immunome-bundle/1\nsite: {study}\nprotocol_version: 1\n"
        "assays:\n  - {file: cytof.csv, assay: cytof_pbmc, layout: wide}\n"
    )
    return dest, people.subject_accession.tolist()


@pytest.mark.realdata
def test_10kip_cytof_study_validates_ingests_and_raw_ids_never_land(require_data, tmp_path):
    src = require_data(CYTOF)
    bundle, subjects = _bundle_from_10kip(src, tmp_path / "b", "SDY112")
    report = validate_bundle(bundle)
    assert report.ok, report.to_text()
    store = open_store(tmp_path / "store")
    res = store.submit(bundle)
    assert res.status == "ingested" and res.n_participants == len(subjects)
    assert res.n_measurements > 0
    store.check()
    blob = b"".join(p.read_bytes() for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert "SUB116449" in subjects
    for s in subjects:
        assert s.encode() not in blob
