"""Read FCS files through FlowKit/FlowIO, turning every failure into a :class:`FlowError`."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import flowkit as fk

from immunome.errors import FlowError

FCS_VERSIONS = ("FCS2.0", "FCS3.0", "FCS3.1")


def file_sha256(path: str | Path) -> str:
    """Content hash of a file (hex sha256), read in 1 MiB chunks.

    Example:
        >>> len(file_sha256(__file__))
        64
    """
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_header(p: Path) -> None:
    with p.open("rb") as fh:
        head = fh.read(58)
    version = head[:6].decode("ascii", "replace")
    if version not in FCS_VERSIONS:
        raise FlowError(
            f"{p}: not an FCS file (header starts {head[:6]!r})", allowed=FCS_VERSIONS, file=str(p)
        )
    if len(head) < 58:
        raise FlowError(f"{p}: truncated FCS file (header is {len(head)} of 58 bytes)", file=str(p))


def read_fcs(path: str | Path, *, sample_id: str | None = None) -> fk.Sample:
    """Read an FCS 2.0/3.0/3.1 file into a FlowKit ``Sample`` (no subsampling).

    A file whose DATA offset is off by one byte (a common writer bug) is read with FlowIO's
    ``ignore_offset_error``; any other parsing problem (truncated file, not an FCS file) raises
    :class:`~immunome.errors.FlowError` naming the file.

    Example:
        >>> read_fcs("100715.fcs").event_count  # doctest: +SKIP
        65016
    """
    p = Path(path)
    if not p.is_file():
        raise FlowError(f"{p}: no such FCS file", file=str(p))
    _check_header(p)
    sid = sample_id or p.stem
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return fk.Sample(str(p), sample_id=sid, subsample=0)
            except fk.exceptions.FCSParsingError as e:
                if "off by 1" not in str(e):
                    raise
                return fk.Sample(str(p), sample_id=sid, subsample=0, ignore_offset_error=True)
    except FlowError:
        raise
    except Exception as e:  # FlowIO raises several unrelated types on broken files
        size = p.stat().st_size
        raise FlowError(
            f"{p}: cannot read FCS file ({size} bytes; truncated or corrupt?): "
            f"{type(e).__name__}: {e}",
            file=str(p),
        ) from e
