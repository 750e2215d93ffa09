"""Helpers of the flow tests: write small FCS files and sample sheets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import flowio
import numpy as np
import pandas as pd


def write_fcs(
    path: Path,
    data: np.ndarray,
    channels: Sequence[str],
    *,
    spill: str | None = None,
    markers: Sequence[str] | None = None,
) -> Path:
    """Write a small FCS 3.1 file with FlowIO (float32 list mode)."""
    meta = {"SPILL": spill} if spill else None
    with path.open("wb") as fh:
        flowio.create_fcs(
            fh,
            data.astype(np.float32).ravel().tolist(),
            list(channels),
            opt_channel_names=list(markers) if markers else None,
            metadata_dict=meta,
        )
    return path


def sample_sheet(path: Path, files: Sequence[Path]) -> Path:
    """Generate a sample sheet for ``files`` (participant metadata is unknown for real FCS)."""
    rows = [
        {
            "file": f.name,
            "participant_id": f"D{i + 1}",
            "day": 0,
            "visit": "baseline",
            "age": 30 + 5 * i,
            "sex": ("female", "male")[i % 2],
        }  # fmt: skip
        for i, f in enumerate(files)
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
