"""Check the samples table: IDs, participant references, day offsets, visits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from immunome.protocol import Protocol
from immunome.submission._fields import as_text, check_numeric, check_range, check_required
from immunome.submission._participants import _is_number, check_columns, check_privacy_values
from immunome.submission._privacy import DATE_PATTERN
from immunome.submission._report import ValidationReport
from immunome.submission._tables import Table

COLUMNS = ["sample_id", "participant_id", "day", "visit", "batch", "sample_type"]
REQUIRED = ["sample_id", "participant_id", "day"]
DAY_RANGE = (-36500.0, 36500.0)


def _visits(
    s: pd.Series,
    day: pd.Series,
    lines: np.ndarray,
    protocol: Protocol,
    file: str,
    report: ValidationReport,
) -> pd.Series:
    by_name = {v.name.lower(): v for v in protocol.visits}
    canon = s.map(
        lambda v: by_name[v.lower()].name if v is not None and v.lower() in by_name else None
    )
    bad = (s.notna() & canon.isna()).to_numpy()
    if bad.any():
        report.add_rows(
            file,
            lines[bad],
            "visit",
            "vocabulary",
            [f"unknown visit {v!r}" for v in s[bad]],
            allowed=[v.name for v in protocol.visits],
        )
    lo = canon.map(lambda n: np.nan if n is None else _window(by_name[n.lower()])[0]).astype(float)
    hi = canon.map(lambda n: np.nan if n is None else _window(by_name[n.lower()])[1]).astype(float)
    out = ((day < lo) | (day > hi)).to_numpy()
    if out.any():
        report.add_rows(
            file,
            lines[out],
            "day",
            "visit-window",
            [
                f"day {d:g} is outside the window [{a:g}, {b:g}] of visit {v!r}"
                for d, a, b, v in zip(day[out], lo[out], hi[out], canon[out], strict=True)
            ],
            severity="warning",
        )
    return canon


def _window(v) -> tuple[int, int]:
    a, b = v.window
    return (v.day, v.day) if (a, b) == (0, 0) and v.day != 0 else (min(a, v.day), max(b, v.day))


def check_samples(
    table: Table, protocol: Protocol, participant_ids: set[str] | None, report: ValidationReport
) -> pd.DataFrame | None:
    """Validate the samples file; return clean rows (``COLUMNS``) or None if unusable."""
    usable = check_columns(table, COLUMNS, REQUIRED, report, date_columns_rule="calendar-date")
    if "sample_id" not in usable:
        return None
    raw = table.data.select(usable).to_pandas()
    file = table.name
    lines = table.line_of(np.arange(len(raw)))
    text = {c: as_text(raw[c]) for c in usable if c != "day" or not _is_number(raw[c])}
    if "day" in usable and "day" not in text:  # parsed as numbers already
        check_required(raw["day"], lines, file=file, column="day", report=report)
    for c in REQUIRED:
        if c in text:
            check_required(text[c], lines, file=file, column=c, report=report)
    clean = pd.DataFrame({"sample_id": text["sample_id"]})
    clean["participant_id"] = text.get("participant_id")
    day = pd.Series(np.nan, index=raw.index)
    if "day" in usable and "day" not in text:
        day = raw["day"].astype(float)
        frac = (day.notna() & (day != np.floor(day))).to_numpy()
        if frac.any():
            report.add_rows(
                file, lines[frac], "day", "type", [f"{v:g} is not an integer" for v in day[frac]]
            )
            day = day.where(~frac)
    elif "day" in text:
        day = check_numeric(
            text["day"],
            lines,
            file=file,
            column="day",
            report=report,
            integer=True,
            date_rule="calendar-date",
        )
    if "day" in usable:
        check_range(
            day,
            lines,
            file=file,
            column="day",
            report=report,
            hard=DAY_RANGE,
            plausible=None,
            unit="days",
        )
    clean["day"] = day.astype("Int64")
    clean["visit"] = (
        _visits(text["visit"], day, lines, protocol, file, report) if "visit" in text else None
    )
    clean["batch"] = text.get("batch")
    clean["sample_type"] = text.get("sample_type")
    ext = [c for c in usable if c.startswith("x_")]
    for c in ext:
        dates = text[c].astype(str).str.match(DATE_PATTERN) & text[c].notna()
        if dates.any():
            report.add_rows(
                file,
                lines[dates.to_numpy()],
                c,
                "calendar-date",
                ["calendar dates are not allowed in samples; use day offsets"] * int(dates.sum()),
            )
    check_privacy_values(
        pd.DataFrame(
            {c: text[c] for c in ["sample_id", "batch", "sample_type", *ext] if c in text}
        ),
        [c for c in ["sample_id", "batch", "sample_type", *ext] if c in text],
        lines,
        file,
        report,
    )
    sid = clean["sample_id"]
    dup = (sid.notna() & sid.duplicated(keep="first")).to_numpy()
    if dup.any():
        first_line = pd.Series(lines, index=sid.index).groupby(sid).transform("first")
        report.add_rows(
            file,
            lines[dup],
            "sample_id",
            "duplicate-sample",
            [
                f"sample {s!r} is listed again (first at line {f})"
                for s, f in zip(sid[dup], first_line[dup], strict=True)
            ],
        )
    if participant_ids is not None and "participant_id" in text:
        pid = clean["participant_id"]
        orphan = (pid.notna() & ~pid.isin(participant_ids)).to_numpy()
        if orphan.any():
            report.add_rows(
                file,
                lines[orphan],
                "participant_id",
                "orphan-sample",
                [f"participant {p!r} is not in the participants file" for p in pid[orphan]],
            )
    return clean
