"""Vectorised value checks shared by participants, samples and QC tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from immunome.protocol import Vocabulary
from immunome.submission._privacy import DATE_PATTERN
from immunome.submission._report import ValidationReport


def as_text(series: pd.Series) -> pd.Series:
    """Cells as stripped ``str`` (object dtype); empty cells and nulls become None (vectorised).

    Example:
        >>> as_text(pd.Series([" a ", "", None, 3])).tolist()
        ['a', None, None, '3']
    """
    try:
        arr = pa.array(series, from_pandas=True)
        if not pa.types.is_string(arr.type):
            arr = pc.cast(arr, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        arr = pa.array([None if v is None or v != v else str(v) for v in series], pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return pd.Series(arr.to_numpy(zero_copy_only=False), index=series.index, dtype=object)


def check_required(
    s: pd.Series, lines: np.ndarray, *, file: str, column: str, report: ValidationReport
) -> np.ndarray:
    """Report empty cells of a required column; returns the missing mask."""
    miss = s.isna().to_numpy()
    if miss.any():
        report.add_rows(
            file, lines[miss], column, "required", ["value is required"] * int(miss.sum())
        )
    return miss


def check_numeric(
    s: pd.Series,
    lines: np.ndarray,
    *,
    file: str,
    column: str,
    report: ValidationReport,
    integer: bool = False,
    date_rule: str | None = None,
) -> pd.Series:
    """Parse numbers; report cells that are not numbers (or not integers). Bad cells → NaN.

    With ``date_rule``, calendar-date-looking cells are reported under that rule instead.
    """
    num = pd.to_numeric(s, errors="coerce").astype(float)
    bad = (s.notna() & num.isna()).to_numpy()
    kind = "an integer" if integer else "a number"
    if integer:
        frac = (num.notna() & (num != np.floor(num))).to_numpy()
        bad |= frac
    if bad.any():
        vals = s[bad].astype(str)
        is_date = np.zeros(len(vals), dtype=bool)
        if date_rule:
            is_date = vals.str.match(DATE_PATTERN).to_numpy()
            if is_date.any():
                report.add_rows(
                    file,
                    lines[bad][is_date],
                    column,
                    date_rule,
                    [
                        f"{v!r} is a calendar date; give an integer day offset "
                        "from the reference event"
                        for v in vals[is_date]
                    ],
                )
        report.add_rows(
            file,
            lines[bad][~is_date],
            column,
            "type",
            [f"{v!r} is not {kind}" for v in vals[~is_date]],
        )
        num[bad] = np.nan
    return num


def check_range(
    num: pd.Series,
    lines: np.ndarray,
    *,
    file: str,
    column: str,
    report: ValidationReport,
    hard: tuple[float, float] | None,
    plausible: tuple[float, float] | None,
    unit: str | None = None,
) -> None:
    """Hard range → error ``range``; plausible range → warning ``plausible``."""
    u = f" {unit}" if unit else ""
    arr = num.to_numpy(dtype=float)
    hard_bad = np.zeros(len(arr), dtype=bool)
    if hard is not None:
        hard_bad = (arr < hard[0]) | (arr > hard[1])
        if hard_bad.any():
            report.add_rows(
                file,
                lines[hard_bad],
                column,
                "range",
                [
                    f"{v:g}{u} is outside the allowed range [{hard[0]:g}, {hard[1]:g}]"
                    for v in arr[hard_bad]
                ],
                allowed=[f"{hard[0]:g}..{hard[1]:g}{u}"],
            )
    if plausible is not None:
        soft = ((arr < plausible[0]) | (arr > plausible[1])) & ~hard_bad
        if soft.any():
            report.add_rows(
                file,
                lines[soft],
                column,
                "plausible",
                [
                    f"{v:g}{u} is outside the plausible range [{plausible[0]:g}, {plausible[1]:g}]"
                    for v in arr[soft]
                ],
                allowed=[f"{plausible[0]:g}..{plausible[1]:g}{u}"],
                severity="warning",
            )


def check_vocabulary(
    s: pd.Series,
    lines: np.ndarray,
    vocab: Vocabulary,
    *,
    file: str,
    column: str,
    report: ValidationReport,
) -> pd.Series:
    """Map cells to canonical terms (synonyms, case-insensitive); report unknown terms."""
    uniq = s.dropna().unique()
    mapping = {u: vocab.canonical(str(u)) for u in uniq}
    out = s.map(mapping)
    bad = (s.notna() & out.isna()).to_numpy()
    if bad.any():
        report.add_rows(
            file,
            lines[bad],
            column,
            "vocabulary",
            [f"{v!r} is not a term of vocabulary {vocab.name!r}" for v in s[bad]],
            allowed=vocab.terms,
        )
    return out
