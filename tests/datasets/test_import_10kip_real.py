"""Acceptance on the real 10KIP data: everything imported through store.submit, 100% of rows accounted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from immunome.datasets import TENKIP_TABLES, load_10kip_normalized, read_10kip_table

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def report(tenkip_store):
    return tenkip_store.import_report


def _data_lines(path: Path) -> int:
    text = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return sum(1 for ln in text.split(b"\n")[1:] if ln.strip())


def test_report_accounts_for_every_row(report, require_data):
    assert report.balanced
    for spec in TENKIP_TABLES:
        f = report.file(spec.path)
        assert f.rows_read == _data_lines(require_data(f"10kip/{spec.path}")), spec.path
        assert f.rows_landed + f.rows_rejected == f.rows_read
        assert f.rows_landed > 0, spec.path  # every table lands
    t = report.totals()
    assert t["cells_landed"] == t["measurements"] > 200_000
    assert t["sites_failed"] == 0


def test_579_cytof_subjects_from_9_studies(report, tenkip_cohort):
    f = report.file("CyTOF_PBMC/cytof_pbmc_formatted.csv")
    assert (f.rows_read, f.rows_landed, f.rows_rejected) == (579, 579, 0)
    m = tenkip_cohort.matrix("cytof_pbmc")
    obs = tenkip_cohort.samples.loc[m.index]
    assert len(m) == 579 and obs["participant_id"].nunique() == 579
    assert obs["site"].nunique() == 9
    assert "cd4_t_cell" in m.columns and m["cd4_t_cell"].notna().sum() == 579


def test_rejections_carry_reasons(report):
    for f in report.files:
        for r in f.rejected_rows + f.rejected_cells:
            assert r.reason and r.line >= 2
    cbc = report.file("Lab_Tests_Blood_Count/complete_blood_count.csv")
    assert cbc.cell_reasons["range"] > 0  # e.g. eosinophil count 51000 K/uL
    assert all(r.reason.startswith("[range]") for r in cbc.rejected_cells)


def test_no_raw_subject_accession_in_store_bytes(tenkip_store):
    pat = re.compile(rb"SUB\d{4,}")
    hits = [
        p for p in Path(tenkip_store.path).rglob("*") if p.is_file() and pat.search(p.read_bytes())
    ]
    assert hits == []
    assert "SUB116449" not in report_text(tenkip_store)


def report_text(store) -> str:
    return store.import_report.to_json()


def test_normalized_loader_is_keyed_like_the_raw_import(data_root):
    df = load_10kip_normalized(data_root, "cytof_pbmc")
    assert set(df.columns) == {
        "site",
        "subject_accession",
        "raw_sample_id",
        "source_line",
        "assay",
        "feature",
        "value",
    }
    raw = read_10kip_table(data_root / "10kip" / "CyTOF_PBMC" / "cytof_pbmc_formatted.csv").data
    raw_ids = set(raw["subject_accession"] + "-cytof_pbmc-1")
    norm_rows = len(
        read_10kip_table(data_root / "10kip" / "CyTOF_PBMC" / "cytof_pbmc_normalized.csv").data
    )
    assert (
        df["raw_sample_id"].nunique() == norm_rows >= 570
    )  # 10KIP's normalised table drops a few rows
    assert set(df["raw_sample_id"]) <= raw_ids
    assert df["raw_sample_id"].str.fullmatch(r"SUB\d+-cytof_pbmc-1").all()
    cbc = load_10kip_normalized(data_root, "cbc")  # R row names → the raw row
    assert cbc["source_line"].notna().all()
    assert set(cbc["assay"]) <= {"cbc", "clinical_chemistry"}
