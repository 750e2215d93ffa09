"""Check per-sample QC tables (``sample_id, assay, metric, value, flag``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from immunome.protocol import Protocol
from immunome.submission._fields import as_text, check_numeric, check_required
from immunome.submission._participants import check_columns
from immunome.submission._report import ValidationReport
from immunome.submission._tables import Table

COLUMNS = ["sample_id", "assay", "metric", "value", "flag"]
REQUIRED = ["sample_id", "assay", "metric"]


def check_qc(
    table: Table, protocol: Protocol, sample_ids: set[str] | None, report: ValidationReport
) -> pd.DataFrame | None:
    """Validate one QC table; return clean rows with columns ``COLUMNS``."""
    usable = check_columns(table, COLUMNS, REQUIRED, report)
    if any(c not in usable for c in REQUIRED):
        return None
    raw = table.data.select(usable).to_pandas()
    file, lines = table.name, table.line_of(np.arange(len(raw)))
    text = {c: as_text(raw[c]) for c in usable}
    for c in REQUIRED:
        check_required(text[c], lines, file=file, column=c, report=report)
    assays = [a.id for a in protocol.assays]
    bad = (text["assay"].notna() & ~text["assay"].isin(assays)).to_numpy()
    if bad.any():
        report.add_rows(
            file,
            lines[bad],
            "assay",
            "vocabulary",
            [f"unknown assay {a!r}" for a in text["assay"][bad]],
            allowed=assays,
        )
    if sample_ids is not None:
        orphan = (text["sample_id"].notna() & ~text["sample_id"].isin(sample_ids)).to_numpy()
        if orphan.any():
            report.add_rows(
                file,
                lines[orphan],
                "sample_id",
                "orphan-measurement",
                [f"sample {s!r} is not in the samples file" for s in text["sample_id"][orphan]],
            )
    value = (
        check_numeric(text["value"], lines, file=file, column="value", report=report)
        if "value" in text
        else pd.Series(np.nan, index=raw.index)
    )
    return pd.DataFrame(
        {
            "sample_id": text["sample_id"],
            "assay": text["assay"],
            "metric": text["metric"],
            "value": value.astype(float),
            "flag": text.get("flag"),
        }
    )
