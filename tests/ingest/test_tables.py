"""Table reading: line endings, blank lines, NA cells, Parquet, units, open assays."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from immunome.submission import prepare_submission, validate_bundle


def _rewrite_newlines(path, nl: bytes) -> None:
    path.write_bytes(path.read_bytes().replace(b"\n", nl))


def test_old_mac_cr_line_endings_validate_and_keep_line_numbers(bundle, edit):
    edit(bundle / "participants.csv", "EX-004,25,male,", "EX-004,25,robot,")
    for f in ("participants.csv", "samples.csv", "cytof_pbmc.csv"):
        _rewrite_newlines(bundle / f, b"\r")
    report = validate_bundle(bundle)
    (issue,) = report.errors
    assert (issue.rule, issue.file, issue.line, issue.column) == (
        "vocabulary",
        "participants.csv",
        5,
        "sex",
    )


def test_crlf_line_endings_are_valid(bundle):
    for f in ("participants.csv", "samples.csv", "cytokines_long.tsv"):
        _rewrite_newlines(bundle / f, b"\r\n")
    assert validate_bundle(bundle).ok


def test_blank_lines_do_not_shift_line_numbers(bundle, edit):
    edit(bundle / "samples.csv", "EX-001-D7,EX-001,7,", "\n\nEX-001-D7,EX-001,seven,")
    (issue,) = validate_bundle(bundle).errors
    assert (issue.rule, issue.line, issue.column) == ("type", 5, "day")


def test_wide_table_with_aliases_na_cells_and_repeated_samples(bundle, edit):
    # 10KIP style: aliases as headers, NA cells, a participant with several samples
    edit(bundle / "cytof_pbmc.csv", "EX-001-D7,41.1,", "EX-001-D7,NA,")
    prep = prepare_submission(bundle)
    assert prep.ok, prep.report.to_text()
    m = prep.measurements.to_pandas()
    assert not ((m.sample_id == "EX-001-D7") & (m.feature == "t_cell")).any()
    assert ((m.sample_id == "EX-001-D0") & (m.feature == "t_cell")).sum() == 1


def test_parquet_long_table_and_unit_conversion(bundle, edit):
    tbl = pa.table(
        {
            "sample_id": ["EX-001-D0", "EX-002-D0"],
            "feature": ["IL6", "IL6"],
            "value": [0.002, 3.0],
            "unit": ["ng/mL", "pg/mL"],
        }
    )
    pq.write_table(tbl, bundle / "extra.parquet")
    edit(
        bundle / "manifest.yaml",
        "qc:\n",
        "  - file: extra.parquet\n    assay: multiplex_cytokines\n    layout: long\nqc:\n",
    )
    # same (sample, feature) pairs as cytokines_long.tsv → cross-file duplicate
    report = validate_bundle(bundle)
    assert [i.rule for i in report.errors] == ["duplicate-measurement"]
    assert report.errors[0].file == "extra.parquet"


def test_wide_unit_override_is_checked(bundle, edit):
    edit(
        bundle / "manifest.yaml",
        "    layout: wide          #",
        "    layout: wide\n    units: {T_cells: fraction, B_cells: pg/mL}\n    #",
    )
    report = validate_bundle(bundle)
    (issue,) = report.find("unit-incompatible")
    assert (issue.file, issue.line, issue.column) == ("manifest.yaml", 14, "units.B_cells")
    assert issue.allowed == ("%", "fraction")
    # T_cells given as a fraction: 49.7 "fraction" = 4970 % → out of range
    assert report.find("range")[0].column == "T_cells"


def test_unused_file_is_a_warning_only(bundle):
    (bundle / "notes.txt").write_text("hello")
    report = validate_bundle(bundle)
    assert report.ok and [w.rule for w in report.warnings] == ["unused-file"]


def test_visit_window_is_a_warning(bundle, edit):
    edit(bundle / "samples.csv", "EX-001-D7,EX-001,7,day7", "EX-001-D7,EX-001,40,day7")
    report = validate_bundle(bundle)
    assert report.ok
    (w,) = report.warnings
    assert (w.rule, w.line, w.column) == ("visit-window", 3, "day")
