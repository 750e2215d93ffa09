"""Compensation matrices: from the file's ``$SPILL``/``$SPILLOVER`` keyword or a CSV file.

Every matrix is checked against the FCS file it is applied to: each channel must be a
fluorescence channel (``$PnN``) of the file, otherwise :class:`FlowError` names the channel.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import flowkit as fk
import numpy as np
import pandas as pd

from immunome.errors import FlowError


@dataclass(frozen=True)
class Compensation:
    """A spillover matrix (rows: source channel, columns: detector) and its channel names.

    Example:
        >>> c = Compensation(np.eye(2), ("FL1-A", "FL2-A"), source="example")
        >>> c.diagonal_max_deviation()
        0.0
    """

    matrix: np.ndarray = field(repr=False)
    channels: tuple[str, ...]
    source: str

    def sha256(self) -> str:
        """Stable hash of channels + values (part of the batch cache key)."""
        h = hashlib.sha256("\t".join(self.channels).encode())
        h.update(np.ascontiguousarray(self.matrix, dtype="<f8").tobytes())
        return h.hexdigest()

    def diagonal_max_deviation(self) -> float:
        """``max |diag - 1|``; a spillover matrix must have a unit diagonal."""
        return float(np.max(np.abs(np.diag(self.matrix) - 1.0))) if len(self.channels) else 0.0

    def offdiagonal_max(self) -> float:
        """Largest off-diagonal spillover coefficient."""
        m = self.matrix.copy()
        np.fill_diagonal(m, 0.0)
        return float(np.max(np.abs(m))) if m.size else 0.0

    def to_flowkit(self) -> fk.Matrix:
        """The FlowKit ``Matrix`` for these channels."""
        return fk.Matrix(np.asarray(self.matrix, dtype=float), list(self.channels))


def parse_spill(text: str, *, source: str) -> Compensation:
    """Parse an FCS ``$SPILL`` value ``n,ch1,…,chn,v11,…,vnn``.

    Example:
        >>> parse_spill("2,A,B,1,0.1,0,1", source="x").channels
        ('A', 'B')
    """
    parts = [s.strip() for s in text.split(",")]
    try:
        n = int(parts[0])
    except (ValueError, IndexError) as e:
        raise FlowError(
            f"{source}: $SPILL does not start with a channel count: {text[:40]!r}"
        ) from e
    if len(parts) != 1 + n + n * n:
        raise FlowError(
            f"{source}: $SPILL declares {n} channels but has {len(parts) - 1 - n} values "
            f"(expected {n * n})"
        )
    try:
        values = np.array([float(v) for v in parts[1 + n :]], dtype=float).reshape(n, n)
    except ValueError as e:
        raise FlowError(f"{source}: $SPILL has a non-numeric value: {e}") from e
    return Compensation(values, tuple(parts[1 : 1 + n]), source=source)


def spill_from_sample(sample: fk.Sample, *, file: str) -> Compensation | None:
    """The file's own ``$SPILLOVER``/``$SPILL`` matrix, or None when it has none."""
    meta = sample.metadata
    for key in ("spillover", "spill"):
        if key in meta and str(meta[key]).strip():
            return parse_spill(str(meta[key]), source=f"{file}: ${key.upper()}")
    return None


def read_comp_csv(path: str | Path) -> Compensation:
    """Read a square spillover matrix from CSV: a header row of channel names, then n rows.

    A first column of row labels is accepted (and must repeat the header); a leading ``#`` on
    the header is ignored (FlowJo/Cytobank exports).

    Example:
        >>> read_comp_csv("comp.csv").channels  # doctest: +SKIP
        ('FITC-A', 'PE-A')
    """
    p = Path(path)
    if not p.is_file():
        raise FlowError(f"{p}: no such compensation file", file=str(p))
    try:
        df = pd.read_csv(p, dtype=str, skipinitialspace=True)
    except Exception as e:
        raise FlowError(f"{p}: cannot read compensation CSV: {e}", file=str(p)) from e
    cols = [str(c).lstrip("#").strip() for c in df.columns]
    first = df.iloc[:, 0].astype(str).str.strip() if len(df.columns) else pd.Series([], dtype=str)
    labelled = len(cols) == len(df) + 1 and (cols[0] == "" or cols[0].startswith("Unnamed"))
    if labelled:
        if list(first) != cols[1:]:
            raise FlowError(f"{p}: row labels {list(first)} do not repeat the header {cols[1:]}")
        cols, df = cols[1:], df.iloc[:, 1:]
    if len(cols) != len(df):
        raise FlowError(
            f"{p}: compensation matrix is not square ({len(df)} rows, {len(cols)} columns)",
            file=str(p),
        )
    try:
        values = df.astype(float).to_numpy()
    except ValueError as e:
        for i, row in enumerate(df.itertuples(index=False), start=2):
            for j, v in enumerate(row, start=1):
                try:
                    float(v)
                except (TypeError, ValueError):
                    raise FlowError(f"{p}:{i}:{j}: not a number: {v!r}", file=str(p)) from e
        raise FlowError(f"{p}: non-numeric compensation values", file=str(p)) from e
    return Compensation(values, tuple(cols), source=str(p))


def check_against_sample(comp: Compensation, sample: fk.Sample, *, file: str) -> None:
    """Raise :class:`FlowError` if a matrix channel is not a fluorescence channel of the file."""
    fluoro = [sample.pnn_labels[i] for i in sample.fluoro_indices]
    for ch in comp.channels:
        if ch not in fluoro:
            where = "a scatter/time channel" if ch in sample.pnn_labels else "not in the file"
            raise FlowError(
                f"{file}: compensation matrix ({comp.source}) names channel {ch!r}, which is "
                f"{where}",
                allowed=fluoro,
                file=file,
                channel=ch,
            )
    if len(set(comp.channels)) != len(comp.channels):
        dup = sorted({c for c in comp.channels if comp.channels.count(c) > 1})
        raise FlowError(f"{file}: compensation matrix repeats channel(s) {dup}", file=file)
