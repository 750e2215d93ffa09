"""Read the 10,000 Immunomes Project (10KIP) tables as they are, mess included.

Handles old Mac ``\\r`` line endings, Latin-1 bytes, ``NA`` cells, duplicated header columns
(``subject_accession`` twice in the questionnaire) and R row-name columns in the
``*_normalized.csv`` files. Every data row keeps its 1-based source ``line`` so the import report
can point at it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from immunome.errors import DatasetError

NA_VALUES = frozenset({"", "NA", "NaN", "nan", "N/A", "NULL"})
DEMOGRAPHICS = ("study_accession", "subject_accession", "age", "gender", "race")


@dataclass(frozen=True)
class TableSpec:
    """One 10KIP source table and the protocol assays its columns belong to."""

    key: str
    path: str
    assays: tuple[str, ...]
    normalized: str | None = None
    layout: Literal["wide", "hla", "questionnaire"] = "wide"
    drop_columns: tuple[str, ...] = ()


TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "cytof_pbmc",
        "CyTOF_PBMC/cytof_pbmc_formatted.csv",
        ("cytof_pbmc",),
        "CyTOF_PBMC/cytof_pbmc_normalized.csv",
    ),
    TableSpec(
        "flow_pbmc",
        "Flow_Cytometry_PBMC/flow_pbmc_formatted.csv",
        ("flow_pbmc",),
        "Flow_Cytometry_PBMC/flow_pbmc_normalized.csv",
    ),
    TableSpec(
        "flow_whole_blood",
        "Flow_Cytometry_Whole_Blood/flow_blood_formatted.csv",
        ("flow_whole_blood",),
        "Flow_Cytometry_Whole_Blood/flow_blood_normalized.csv",
    ),
    TableSpec(
        "cbc",
        "Lab_Tests_Blood_Count/complete_blood_count.csv",
        ("cbc", "clinical_chemistry"),
        "Lab_Tests_Blood_Count/complete_blood_count_normalized.csv",
    ),
    TableSpec(
        "multiplex_cytokines",
        "Multiplex_ELISA/multiplexELISA_formatted.csv",
        ("multiplex_cytokines",),
        "Multiplex_ELISA/multiplexELISA_normalized.csv",
        drop_columns=("concentration_unit",),
    ),
    TableSpec("elisa", "ELISA/elisa.csv", ("elisa",), "ELISA/elisa_normalized.csv"),
    TableSpec("hai_titer", "HAI_Titer/hai.csv", ("hai_titer",), "HAI_Titer/hai_normalized.csv"),
    TableSpec(
        "neutralization_titer",
        "Virus_Neutralization_Titer/virus_neutralization_titer.csv",
        ("neutralization_titer",),
        "Virus_Neutralization_Titer/vnt_normalized.csv",
    ),
    TableSpec(
        "clinical_chemistry", "lab_test_comprehensive_metabolic_panel.csv", ("clinical_chemistry",)
    ),
    TableSpec("lipid_panel", "lab_test_fasting_lipid_profile.csv", ("lipid_panel",)),
    TableSpec(
        "questionnaire",
        "Questionnaire/questionnaire.csv",
        ("questionnaire",),
        layout="questionnaire",
    ),
    TableSpec("hla", "hla.csv", ("hla_genotype",), layout="hla"),
)
DOCUMENTATION_FILES = ("Questionnaire/questionnaire_dictionary.csv",)


def table_spec(key: str) -> TableSpec:
    """The :class:`TableSpec` named ``key`` (e.g. ``"cytof_pbmc"``)."""
    for t in TABLES:
        if t.key == key:
            return t
    raise DatasetError(f"unknown 10KIP table {key!r}", allowed=[t.key for t in TABLES])


@dataclass
class RawTable:
    """A 10KIP table read as text: ``data`` has unique columns plus ``_line`` (1-based)."""

    path: Path
    data: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    bad_rows: dict[int, str] = field(default_factory=dict)
    """Row position → reason, for rows unusable before any validation (e.g. disagreeing duplicate columns)."""


def _decode(raw: bytes, path: Path, notes: list[str]) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
        notes.append("not UTF-8: decoded as Windows-1252/Latin-1")
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        mac = text.count("\r") - text.count("\r\n")
        notes.append(
            "old Mac CR line endings normalised" if mac else "CRLF line endings normalised"
        )
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _dedupe_columns(
    df: pd.DataFrame, header: list[str], notes: list[str], bad: dict[int, str]
) -> pd.DataFrame:
    keep: list[int] = []
    first: dict[str, int] = {}
    for i, name in enumerate(header):
        if name not in first:
            first[name] = i
            keep.append(i)
            continue
        a, b = df.iloc[:, first[name]], df.iloc[:, i]
        differ = ~((a == b) | (a.isna() & b.isna()))
        notes.append(
            f"duplicate column {name!r} (positions {first[name] + 1} and {i + 1}): "
            f"{int(differ.sum())} rows disagree; the copy was dropped"
        )
        for r in np.flatnonzero(differ.to_numpy()):
            bad.setdefault(int(r), f"duplicate column {name!r} holds two different values")
    out = df.iloc[:, keep]
    out.columns = [header[i] for i in keep]
    return out


def read_10kip_table(path: str | Path) -> RawTable:
    """Read one 10KIP CSV as text cells (missing = None) with its source line numbers.

    Example:
        >>> t = read_10kip_table(data / "hla.csv")  # doctest: +SKIP
        >>> t.data.columns[:2].tolist()  # doctest: +SKIP
        ['study_accession', 'subject_accession']
    """
    p = Path(path)
    notes: list[str] = []
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise DatasetError(f"{p}: cannot read: {e}") from e
    text = _decode(raw, p, notes)
    try:
        df = pd.read_csv(
            io.StringIO(text),
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            engine="c",
        )
    except (pd.errors.ParserError, ValueError) as e:
        raise DatasetError(f"{p}: not a readable CSV: {e}") from e
    if df.empty:
        raise DatasetError(f"{p}: empty file")
    header = [str(h).strip() for h in df.iloc[0]]
    body = df.iloc[1:].reset_index(drop=True)
    body = body.mask(body.isin(NA_VALUES) | body.isna(), None)
    lines = np.arange(2, len(body) + 2)
    blank = body.isna().all(axis=1).to_numpy()
    if blank.any():
        notes.append(f"{int(blank.sum())} blank lines skipped")
        body, lines = body[~blank].reset_index(drop=True), lines[~blank]
    bad: dict[int, str] = {}
    body = _dedupe_columns(body, header, notes, bad)
    body["_line"] = lines
    return RawTable(path=p, data=body, notes=notes, bad_rows=bad)


def to_number(s: pd.Series) -> pd.Series:
    """Parse text cells to float (None/unparseable → NaN)."""
    return pd.to_numeric(s, errors="coerce")


def dataset_root(data_dir: str | Path) -> Path:
    """Accept a mirror root (holding ``10kip/``) or the ``10kip`` folder itself."""
    d = Path(data_dir)
    if (d / "10kip").is_dir():
        return d / "10kip"
    if (d / "CyTOF_PBMC").is_dir() or (d / "hla.csv").is_file():
        return d
    raise DatasetError(
        f"{d}: no 10KIP data here (expected {d / '10kip'}/ or the 10kip folder itself)"
    )
