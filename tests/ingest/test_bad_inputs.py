"""Bad-input suite: each broken bundle gives its precise issue and leaves the store untouched.

Every case mutates a copy of the example bundle, then asserts (a) the exact rule, file, line
and column of the expected issue and (b) that the DuckDB file (and WAL) of a store that already
holds data is byte-identical before and after the refused submission.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from immunome.errors import UnusableInputError, ValidationFailed
from immunome.submission import validate_bundle

Mutator = Callable[[Path, Callable[..., None]], Path | None]


def _append_col(path: Path, name: str, values: list[str]) -> None:
    lines = path.read_text().splitlines()
    out = [lines[0] + "," + name] + [
        ln + "," + (values[i] if i < len(values) else "") for i, ln in enumerate(lines[1:])
    ]
    path.write_text("\n".join(out) + "\n")


def wrong_type(b, edit):
    edit(b / "samples.csv", "EX-001-D7,EX-001,7,", "EX-001-D7,EX-001,seven,")


def out_of_range(b, edit):
    edit(b / "cytof_pbmc.csv", "EX-001-D0,49.7,", "EX-001-D0,149.7,")


def unknown_feature(b, edit):
    edit(b / "cytokines_long.tsv", "EX-001-D0\tTNF\t", "EX-001-D0\tIL99\t")


def unknown_unit(b, edit):
    edit(b / "cytokines_long.tsv", "EX-001-D0\tIL6\t1.76\tpg/mL", "EX-001-D0\tIL6\t1.76\tfurlongs")


def incompatible_unit(b, edit):
    edit(b / "cytokines_long.tsv", "EX-001-D0\tIL6\t1.76\tpg/mL", "EX-001-D0\tIL6\t1.76\t%")


def unknown_wide_column(b, edit):
    edit(b / "cytof_pbmc.csv", "sample_id,T_cells,", "sample_id,Martian_cells,")


def duplicate_sample(b, edit):
    with open(b / "samples.csv", "a") as fh:
        fh.write("EX-002-D0,EX-002,0,baseline,B1,PBMC\n")


def duplicate_measurement(b, edit):
    with open(b / "cytokines_long.tsv", "a") as fh:
        fh.write("EX-001-D0\til6\t2.0\tpg/mL\n")  # canonical id of IL6, given on line 2


def orphan_measurement(b, edit):
    edit(b / "cytokines_long.tsv", "EX-001-D0\tTNF\t", "EX-999-D0\tTNF\t")


def orphan_sample(b, edit):
    edit(b / "samples.csv", "EX-006-D7,EX-006,", "EX-006-D7,EX-066,")


def missing_participants_file(b, edit):
    (b / "participants.csv").unlink()


def empty_file(b, edit):
    (b / "samples.csv").write_bytes(b"")


def non_utf8(b, edit):
    data = (b / "participants.csv").read_bytes()
    (b / "participants.csv").write_bytes(
        data.replace(b"EX-003,93,F,Black", b"EX-003,93,F,Blck\xe9")
    )


def unknown_protocol_version(b, edit):
    edit(b / "manifest.yaml", "protocol_version: 1", "protocol_version: 99")


def inconsistent_sex_across_files(b, edit):
    edit(
        b / "manifest.yaml",
        "participants: participants.csv",
        "participants: [participants.csv, participants_extra.csv]",
    )
    (b / "participants_extra.csv").write_text("participant_id,sex,smoking\nEX-002,female,former\n")


def inconsistent_age_same_file(b, edit):
    with open(b / "participants.csv", "a") as fh:
        fh.write("EX-004,52,male,More Than One Race,Unknown,neg,current,31.8,aP,B\n")


def duplicate_participant(b, edit):
    with open(b / "participants.csv", "a") as fh:
        fh.write("EX-001,34,female,White,Not Hispanic or Latino,negative,never,22.5,aP,A\n")


def calendar_date_day(b, edit):
    edit(b / "samples.csv", "EX-001-D0,EX-001,0,", "EX-001-D0,EX-001,2021-03-04,")


def calendar_date_column(b, edit):
    _append_col(b / "samples.csv", "collection_date", ["2021-03-04"])


def vocabulary(b, edit):
    edit(b / "participants.csv", "EX-004,25,male,", "EX-004,25,robot,")


def required_value(b, edit):
    edit(b / "participants.csv", "EX-002,58,M,", "EX-002,58,,")


def unknown_column(b, edit):
    _append_col(b / "participants.csv", "favourite_colour", ["blue"])


def manifest_schema(b, edit):
    edit(b / "manifest.yaml", "site: EXAMPLE01", "site: '!'")


def unknown_assay(b, edit):
    edit(b / "manifest.yaml", "assay: multiplex_cytokines", "assay: telepathy")


def ragged_row(b, edit):
    edit(
        b / "samples.csv",
        "EX-002-D0,EX-002,0,baseline,B1,PBMC",
        "EX-002-D0,EX-002,0,baseline,B1,PBMC,extra",
    )


def identifier_value_email(b, edit):
    _append_col(b / "participants.csv", "x_contact", ["", "jane.doe@example.org"])


def identifier_value_mrn(b, edit):
    edit(b / "participants.csv", "EX-005,", "MRN 0012345,")
    edit(b / "samples.csv", "EX-005-D0,EX-005,", "EX-005-D0,MRN 0012345,")


def _ident_col(name: str, value: str) -> Mutator:
    def mutate(b, edit):
        _append_col(b / "participants.csv", name, [value])

    mutate.__name__ = f"identifier_column_{name}"
    return mutate


# (mutator, rule, file, line, column)
CASES: list[tuple[Mutator, str, str, int | None, str | None]] = [
    (wrong_type, "type", "samples.csv", 3, "day"),
    (out_of_range, "range", "cytof_pbmc.csv", 2, "T_cells"),
    (unknown_feature, "feature-unknown", "cytokines_long.tsv", 3, "feature"),
    (unknown_unit, "unit-unknown", "cytokines_long.tsv", 2, "unit"),
    (incompatible_unit, "unit-incompatible", "cytokines_long.tsv", 2, "unit"),
    (unknown_wide_column, "feature-unknown", "cytof_pbmc.csv", 1, "Martian_cells"),
    (duplicate_sample, "duplicate-sample", "samples.csv", 12, "sample_id"),
    (duplicate_measurement, "duplicate-measurement", "cytokines_long.tsv", 42, "feature"),
    (orphan_measurement, "orphan-measurement", "cytokines_long.tsv", 3, "sample_id"),
    (orphan_sample, "orphan-sample", "samples.csv", 11, "participant_id"),
    (missing_participants_file, "file-missing", "manifest.yaml", 8, "participants"),
    (empty_file, "empty", "samples.csv", None, None),
    (non_utf8, "encoding", "participants.csv", 4, None),
    (unknown_protocol_version, "protocol", "manifest.yaml", 6, "protocol_version"),
    (inconsistent_sex_across_files, "participant-inconsistent", "participants_extra.csv", 2, "sex"),
    (inconsistent_age_same_file, "participant-inconsistent", "participants.csv", 8, "age"),
    (duplicate_participant, "duplicate-participant", "participants.csv", 8, "participant_id"),
    (calendar_date_day, "calendar-date", "samples.csv", 2, "day"),
    (calendar_date_column, "calendar-date", "samples.csv", 1, "collection_date"),
    (vocabulary, "vocabulary", "participants.csv", 5, "sex"),
    (required_value, "required", "participants.csv", 3, "sex"),
    (unknown_column, "column-unknown", "participants.csv", 1, "favourite_colour"),
    (manifest_schema, "manifest", "manifest.yaml", 4, "site"),
    (unknown_assay, "assay-unknown", "manifest.yaml", 15, "assays.1.assay"),
    (ragged_row, "format", "samples.csv", 4, None),
    (identifier_value_email, "privacy", "participants.csv", 3, "x_contact"),
    (identifier_value_mrn, "privacy", "participants.csv", 6, "participant_id"),
    (_ident_col("name", "Jane Doe"), "privacy", "participants.csv", 1, "name"),
    (_ident_col("email", "jane@example.org"), "privacy", "participants.csv", 1, "email"),
    (_ident_col("phone", "+1 415 555 0100"), "privacy", "participants.csv", 1, "phone"),
    (
        _ident_col("street_address", "12 Main Street"),
        "privacy",
        "participants.csv",
        1,
        "street_address",
    ),
    (_ident_col("date_of_birth", "1970-01-01"), "privacy", "participants.csv", 1, "date_of_birth"),
    (_ident_col("mrn", "12345678"), "privacy", "participants.csv", 1, "mrn"),
]


@pytest.mark.parametrize("mutate,rule,file,line,column", CASES, ids=[c[0].__name__ for c in CASES])
def test_bad_bundle_is_refused_precisely(
    seeded_store, bundle, edit, fingerprint, mutate, rule, file, line, column
):
    mutate(bundle, edit)
    before = fingerprint(seeded_store.path)
    with pytest.raises(ValidationFailed) as exc:
        seeded_store.submit(bundle)
    assert fingerprint(seeded_store.path) == before
    report = exc.value.report
    assert not report.ok
    hits = [i for i in report.errors if i.rule == rule]
    assert hits, report.to_text()
    assert (hits[0].file, hits[0].line, hits[0].column) == (file, line, column), report.to_text()
    assert f"[{rule}]" in report.to_text()
    assert seeded_store.check()["submissions"] == 1


def test_every_problem_is_reported_not_only_the_first(bundle, edit):
    wrong_type(bundle, edit)
    out_of_range(bundle, edit)
    unknown_unit(bundle, edit)
    vocabulary(bundle, edit)
    orphan_sample(bundle, edit)
    report = validate_bundle(bundle)
    assert {"type", "range", "unit-unknown", "vocabulary", "orphan-sample"} <= report.rules()


def test_allowed_values_are_given(bundle, edit):
    vocabulary(bundle, edit)
    unknown_feature(bundle, edit)
    report = validate_bundle(bundle)
    (voc,) = report.find("vocabulary")
    assert voc.allowed == ("female", "male", "intersex", "unknown")
    assert "(allowed: female, male, intersex, unknown)" in report.to_text()
    (feat,) = report.find("feature-unknown")
    assert "il6" in feat.allowed


def test_unknown_unit_and_range_in_converted_units(bundle, edit):
    # 2000 ng/mL of CXCL10 = 2e6 pg/mL: above the plausible range, below the hard one → warning
    edit(bundle / "cytokines_long.tsv", "EX-001-D0\tCXCL10\t", "EX-001-D0\tCXCL10\t2000")
    report = validate_bundle(bundle)
    assert report.ok, report.to_text()
    (w,) = report.find("plausible")
    assert (w.severity, w.file, w.line, w.column) == ("warning", "cytokines_long.tsv", 4, "value")


def _zip(src: Path, dest: Path, extra: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(src.iterdir()):
            zf.write(f, f.name)
        for name, data in extra:
            zf.writestr(name, data)
    return dest


@pytest.mark.parametrize(
    "name,extra,needle",
    [
        ("zip_slip", [("../../evil.csv", b"x")], "zip-slip"),
        ("absolute", [("/etc/evil.csv", b"x")], "absolute path"),
        ("zip_bomb", [("bomb.csv", b"0" * (64 * 1024 * 1024))], "zip bomb"),
        ("too_many_files", [(f"f{i}.txt", b"") for i in range(1001)], "entries"),
    ],
)
def test_unsafe_zip_is_unusable(seeded_store, bundle, tmp_path, fingerprint, name, extra, needle):
    z = _zip(bundle, tmp_path / f"{name}.zip", extra)
    before = fingerprint(seeded_store.path)
    with pytest.raises(UnusableInputError) as exc:
        seeded_store.submit(z)
    assert exc.value.exit_code == 2
    assert needle in str(exc.value)
    assert fingerprint(seeded_store.path) == before
    assert not (tmp_path.parent / "evil.csv").exists()


def test_zip_symlink_is_unusable(seeded_store, bundle, tmp_path):
    info = zipfile.ZipInfo("link.csv")
    info.external_attr = 0o120777 << 16
    z = _zip(bundle, tmp_path / "sym.zip", [(info, b"/etc/passwd")])
    with pytest.raises(UnusableInputError, match="symlink"):
        seeded_store.submit(z)


def test_directory_symlink_is_unusable(bundle):
    os.symlink("/etc/passwd", bundle / "passwd.csv")
    with pytest.raises(UnusableInputError, match="symlink"):
        validate_bundle(bundle)


def test_not_a_bundle_is_unusable(tmp_path):
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(UnusableInputError):
        validate_bundle(tmp_path / "x.txt")
    with pytest.raises(UnusableInputError, match="manifest"):
        validate_bundle(tmp_path)
