"""import_10kip on a tiny synthetic mirror: every row accounted for, rejects carry the validator's reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from immunome.cli import app
from immunome.datasets import import_10kip
from immunome.store import open_store

from ._synthetic import make_mirror


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = make_mirror(tmp_path_factory.mktemp("mirror"))
    store = open_store(tmp_path_factory.mktemp("s") / "store")
    work = tmp_path_factory.mktemp("work")
    rep = import_10kip(store, root, verify=False, work_dir=work)
    return root, store, rep, work


def test_every_row_is_accounted_for(imported):
    _, _, rep, _ = imported
    assert rep.balanced
    cy = rep.file("CyTOF_PBMC/cytof_pbmc_formatted.csv")
    assert (cy.rows_read, cy.rows_landed, cy.rows_rejected) == (3, 2, 1)
    assert cy.rejected_rows[0].line == 3 and "all NA" in cy.rejected_rows[0].reason


def test_out_of_range_cell_dropped_rest_of_row_lands(imported):
    _, _, rep, _ = imported
    cy = rep.file("CyTOF_PBMC/cytof_pbmc_formatted.csv")
    (cell,) = cy.rejected_cells
    assert (cell.line, cell.column) == (4, "B_cells") and cell.reason.startswith("[range]")
    cbc = rep.file("Lab_Tests_Blood_Count/complete_blood_count.csv")
    assert cbc.rows_landed == 2 and "Mac CR" in " ".join(cbc.notes)
    assert [c.column for c in cbc.rejected_cells] == ["EOSINOPHIL_COUNT_K_per_uL"]


def test_participant_without_age_lands_bad_allele_rejected_with_reason(imported):
    """Age is optional in protocol v1 (legacy HLA studies lack it); a bad allele is rejected."""
    _, _, rep, _ = imported
    hla = rep.file("hla.csv")
    reasons = {r.line: r.reason for r in hla.rejected_rows}
    assert 4 not in reasons
    assert "[hla-allele] '??'" in reasons[5]
    assert hla.rows_landed == 3


def test_questionnaire_coding_and_free_text(imported):
    _, _, rep, _ = imported
    q = rep.file("Questionnaire/questionnaire.csv")
    assert "CSQ51A" in q.columns_not_imported
    assert [c.column for c in q.rejected_cells] == ["CSQ53A"]  # '<1' is not a number
    assert any("duplicate column 'subject_accession'" in n for n in q.notes)


def test_bundle_layout_days_and_conflict(imported):
    _, _, rep, work = imported
    samples = (work / "SDY1" / "samples.csv").read_text().splitlines()
    assert "SUBA1-cbc-1,SUBA1,365,whole blood (EDTA); serum for immunoglobulins" in samples
    assert "SUBA1-cbc-2,SUBA1,0,whole blood (EDTA); serum for immunoglobulins" in samples
    hla = (work / "SDY2" / "hla__hla_genotype.csv").read_text().splitlines()
    assert "SUBB1-hla-1,hla_a_02,2" in hla and "SUBB1-hla-1,hla_dqb1_0401,1" in hla
    assert rep.participant_conflicts == []


def test_store_has_no_raw_ids_and_reimport_is_unchanged(imported):
    root, store, rep, _ = imported
    assert {s.site: s.status for s in rep.sites} == {"SDY1": "ingested", "SDY2": "ingested"}
    blob = b"".join(p.read_bytes() for p in Path(store.path).rglob("*") if p.is_file())
    assert b"SUBA1" not in blob and b"SUBB1" not in blob
    again = import_10kip(store, root, verify=False)
    assert {s.status for s in again.sites} == {"unchanged"}
    assert again.totals() == rep.totals()


def test_report_json_and_cli(imported, tmp_path: Path):
    root, _, rep, _ = imported
    d = json.loads(rep.to_json())
    assert (
        d["balanced"]
        and d["totals"]["rows_read"] == d["totals"]["rows_landed"] + d["totals"]["rows_rejected"]
    )
    assert "SUBA1" not in rep.to_json()
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        app,
        [
            "import",
            "10kip",
            "--store",
            str(tmp_path / "st"),
            "--data-dir",
            str(root),
            "--no-verify",
            "--report",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "balanced" in res.output and json.loads(out.read_text())["totals"] == d["totals"]
