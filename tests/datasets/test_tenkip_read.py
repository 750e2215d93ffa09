"""Reading the 10KIP mess: line endings, encodings, duplicate columns, NA, blank lines, HLA alleles."""

from __future__ import annotations

from pathlib import Path

import pytest

from immunome.datasets._tenkip_read import dataset_root, read_10kip_table
from immunome.datasets._tenkip_rows import hla_feature
from immunome.errors import DatasetError


def test_mac_line_endings_latin1_and_na(tmp_path: Path):
    p = tmp_path / "t.csv"
    p.write_bytes("a,b,c\rx,NA,caf\xe9\r\ry,,2\r".encode("latin-1"))
    t = read_10kip_table(p)
    assert t.data["_line"].tolist() == [2, 4]
    assert t.data["b"].isna().all()
    assert t.data["c"].tolist() == ["café", "2"]
    assert any("Mac CR" in n for n in t.notes) and any("Latin-1" in n for n in t.notes)
    assert any("1 blank lines" in n for n in t.notes)


def test_duplicate_columns_identical_or_disagreeing(tmp_path: Path):
    p = tmp_path / "q.csv"
    p.write_text("id,v,id\nA,1,A\nB,2,C\n")
    t = read_10kip_table(p)
    assert t.data.columns.tolist() == ["id", "v", "_line"]
    assert t.bad_rows == {1: "duplicate column 'id' holds two different values"}


def test_empty_and_missing_files(tmp_path: Path):
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DatasetError, match="empty file|not a readable CSV"):
        read_10kip_table(tmp_path / "e.csv")
    with pytest.raises(DatasetError, match="cannot read"):
        read_10kip_table(tmp_path / "nope.csv")
    with pytest.raises(DatasetError, match="no 10KIP data here"):
        dataset_root(tmp_path)


@pytest.mark.parametrize(
    ("locus", "allele", "expected"),
    [
        ("HLA-DQB1", "*0402", "hla_dqb1_0402"),
        ("HLA-A", "A*02", "hla_a_02"),
        ("HLA-C", "Cw*07", "hla_c_07"),
        ("HLA-DRB1", "401", "hla_drb1_0401"),
        ("HLA-DRB1", "*04:01", "hla_drb1_0401"),
        ("HLA-A", "-", None),
        ("HLA-A", None, None),
        ("HLA-A", "??", None),
    ],
)
def test_hla_allele_names(locus, allele, expected):
    assert hla_feature(locus, allele) == expected


def test_real_quirks_are_seen(require_data):
    cbc = read_10kip_table(require_data("10kip/Lab_Tests_Blood_Count/complete_blood_count.csv"))
    assert "old Mac CR line endings normalised" in cbc.notes and len(cbc.data) == 1696
    q = read_10kip_table(require_data("10kip/Questionnaire/questionnaire.csv"))
    assert list(q.data.columns).count("subject_accession") == 1 and not q.bad_rows
