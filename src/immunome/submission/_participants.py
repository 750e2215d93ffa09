"""Check participant tables and merge them into one clean row per participant."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from immunome.protocol import Protocol
from immunome.submission._fields import (
    as_text,
    check_numeric,
    check_range,
    check_required,
    check_vocabulary,
)
from immunome.submission._privacy import identifier_column, identifier_values
from immunome.submission._report import ValidationReport
from immunome.submission._tables import Table

ID = "participant_id"


def check_columns(
    table: Table,
    known: list[str],
    required: list[str],
    report: ValidationReport,
    *,
    date_columns_rule: str | None = None,
) -> list[str]:
    """Header checks shared by participants and samples; returns the usable columns."""
    usable: list[str] = []
    for col in table.columns:
        what = identifier_column(col)
        if what is not None and col not in known:
            report.add(
                table.name,
                1,
                col,
                "privacy",
                f"column {col!r} looks like it holds {what}; direct identifiers must not "
                "be submitted — remove the column",
            )
            continue
        if date_columns_rule and "date" in col.lower() and col not in known:
            report.add(
                table.name,
                1,
                col,
                date_columns_rule,
                f"column {col!r} holds calendar dates; submit integer day offsets in 'day'",
            )
            continue
        if col not in known and not col.startswith("x_"):
            report.add(
                table.name,
                1,
                col,
                "column-unknown",
                f"unknown column {col!r}",
                allowed=[*known, "x_<site extension>"],
            )
            continue
        usable.append(col)
    for col in required:
        if col not in table.columns:
            report.add(
                table.name,
                1,
                col,
                "column-missing",
                f"required column {col!r} is missing",
                allowed=required,
            )
    return usable


def check_privacy_values(
    df: pd.DataFrame, cols: list[str], lines: np.ndarray, file: str, report: ValidationReport
) -> None:
    """Report free-text columns whose values look like direct identifiers."""
    for col in cols:
        hit = identifier_values(df[col])
        if hit is not None:
            what, mask = hit
            report.add_rows(
                file,
                lines[mask],
                col,
                "privacy",
                [f"value looks like {what}; direct identifiers must not be submitted"]
                * int(mask.sum()),
            )


def _one_file(table: Table, protocol: Protocol, report: ValidationReport) -> pd.DataFrame | None:
    fields = {f.name: f for f in protocol.participant_fields}
    required = [f.name for f in protocol.participant_fields if f.required]
    usable = check_columns(table, list(fields), required, report)
    if ID not in usable:
        return None
    raw = table.data.select(usable).to_pandas()
    n = len(raw)
    lines = table.line_of(np.arange(n))
    file = table.name
    out = pd.DataFrame(index=raw.index)
    out["_file"], out["_line"] = file, lines
    free_text: list[str] = []
    for col in usable:
        f = fields.get(col)
        if f is not None and f.value_type in ("float", "int") and _is_number(raw[col]):
            out[col] = _numeric_field(raw[col].astype(float), f, lines, file, report)
            continue
        s = as_text(raw[col])
        if f is None:  # x_ extension
            out[col] = s
            free_text.append(col)
            continue
        if f.required:
            check_required(s, lines, file=file, column=col, report=report)
        if f.value_type in ("float", "int"):
            num = check_numeric(
                s, lines, file=file, column=col, report=report, integer=f.value_type == "int"
            )
            out[col] = _numeric_field(num, f, lines, file, report, required_checked=True)
        elif f.vocabulary:
            out[col] = check_vocabulary(
                s, lines, protocol.vocabulary(f.vocabulary), file=file, column=col, report=report
            )
        else:
            out[col] = s
            free_text.append(col)
    check_privacy_values(out, free_text, lines, file, report)
    return out


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _numeric_field(
    num: pd.Series,
    f,
    lines: np.ndarray,
    file: str,
    report: ValidationReport,
    *,
    required_checked: bool = False,
) -> pd.Series:
    """Required, integer, range and plausible checks of a parsed numeric field; top-coding."""
    col = f.name
    if f.required and not required_checked:
        check_required(num, lines, file=file, column=col, report=report)
    if f.value_type == "int" and not required_checked:
        frac = (num.notna() & (num != np.floor(num))).to_numpy()
        if frac.any():
            report.add_rows(
                file, lines[frac], col, "type", [f"{v:g} is not an integer" for v in num[frac]]
            )
            num = num.where(~frac)
    check_range(
        num,
        lines,
        file=file,
        column=col,
        report=report,
        hard=f.range,
        plausible=f.plausible,
        unit=f.unit,
    )
    if f.top_code is not None:
        num = num.where(~(num > f.top_code[0]), f.top_code[1])
    return num


def _duplicates(df: pd.DataFrame, value_cols: list[str], report: ValidationReport) -> None:
    dup = df[ID].notna() & df.duplicated(ID, keep=False)
    if not dup.any():
        return
    d = df[dup]
    first = d.groupby(ID, sort=False)[["_file", "_line"]].first()
    conflicting: dict[str, list[str]] = {}
    for col in value_cols:
        n = d.groupby(ID, sort=False)[col].nunique(dropna=True)
        for pid in n.index[n > 1]:
            conflicting.setdefault(pid, []).append(col)
    later = d[d.duplicated(ID, keep="first")]
    for row in later.to_dict("records"):
        pid = row[ID]
        f0, l0 = first.loc[pid, "_file"], first.loc[pid, "_line"]
        cols = conflicting.get(pid)
        if cols:
            for col in cols:
                report.add(
                    row["_file"],
                    int(row["_line"]),
                    col,
                    "participant-inconsistent",
                    f"participant {pid!r}: {col} = {row[col]!r} disagrees with {f0}:{l0}",
                )
        elif row["_file"] == f0:
            report.add(
                row["_file"],
                int(row["_line"]),
                ID,
                "duplicate-participant",
                f"participant {pid!r} is listed again (first at line {l0})",
            )


def check_participants(
    tables: list[Table], protocol: Protocol, report: ValidationReport
) -> pd.DataFrame | None:
    """Validate participant files; return one clean row per participant (or None).

    Rows of the same participant in several files are merged (first non-empty value per
    field); disagreeing values are ``participant-inconsistent`` errors.
    """
    frames = [f for t in tables if (f := _one_file(t, protocol, report)) is not None]
    if not frames:
        return None
    df = pd.concat(frames, ignore_index=True)
    value_cols = [c for c in df.columns if c not in (ID, "_file", "_line")]
    _duplicates(df, value_cols, report)
    merged = df.drop(columns=["_file", "_line"]).groupby(ID, sort=False, dropna=True).first()
    merged = merged.reset_index()
    fields = [f.name for f in protocol.participant_fields if f.name != ID]
    ext = [c for c in merged.columns if c.startswith("x_")]
    clean = pd.DataFrame({ID: merged[ID]})
    for f in fields:
        clean[f] = merged[f] if f in merged.columns else None
    clean["extra"] = _extra_json(merged, ext)
    return clean


def _extra_json(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    if not cols:
        return pd.Series([None] * len(df), index=df.index, dtype=object)
    recs = df[cols].to_dict("records")
    return pd.Series(
        [
            json.dumps({k[2:]: v for k, v in r.items() if v is not None and v == v}, sort_keys=True)
            for r in recs
        ],
        index=df.index,
        dtype=object,
    )
