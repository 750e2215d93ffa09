"""Safe handling of uploaded files: size limits, zip-slip and zip-bomb checks, CSV parsing.

Nothing from the client's file name is used; uploads land in a fresh temporary folder.

Example:
    >>> check_zip_names(["manifest.yaml", "data/x.csv"])
    >>> check_zip_names(["../evil.csv"])
    Traceback (most recent call last):
    ...
    immunome.errors.UnusableInputError: zip member '../evil.csv' escapes the bundle folder (zip-slip)
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from fastapi import UploadFile

from immunome.api._errors import ApiError
from immunome.errors import UnusableInputError

MAX_UNCOMPRESSED_RATIO = 50
MAX_MEMBERS = 1000
MAX_CSV_ROWS = 10_000


async def save_upload(upload: UploadFile, dest: Path, *, max_bytes: int) -> Path:
    """Stream ``upload`` to ``dest`` (413 beyond ``max_bytes``)."""
    size = 0
    with open(dest, "wb") as fh:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise ApiError(
                    413,
                    "payload_too_large",
                    f"upload exceeds {max_bytes} bytes",
                    details={"max_bytes": max_bytes},
                )
            fh.write(chunk)
    if size == 0:
        raise ApiError(400, "unusable_input", "the uploaded file is empty")
    return dest


def check_zip_names(names: list[str]) -> None:
    """Reject absolute paths, ``..`` parts, backslashes and drive letters (zip-slip)."""
    for name in names:
        p = PurePosixPath(name)
        if (
            name.startswith(("/", "\\"))
            or "\\" in name
            or ".." in p.parts
            or (len(name) > 1 and name[1] == ":")
            or "\x00" in name
        ):
            raise UnusableInputError(f"zip member {name!r} escapes the bundle folder (zip-slip)")


def check_bundle_zip(path: Path, *, max_bytes: int) -> None:
    """A bundle upload must be a zip without zip-slip members or a decompression bomb."""
    if not zipfile.is_zipfile(path):
        raise ApiError(
            415,
            "unsupported_media_type",
            "upload a submission bundle as a .zip file",
            details={"allowed": ["application/zip"]},
        )
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as e:
        raise UnusableInputError(f"not a readable zip file: {e}") from e
    if len(infos) > MAX_MEMBERS:
        raise UnusableInputError(f"bundle has {len(infos)} files; at most {MAX_MEMBERS} allowed")
    check_zip_names([i.filename for i in infos])
    total = sum(i.file_size for i in infos)
    if total > max_bytes * MAX_UNCOMPRESSED_RATIO:
        raise UnusableInputError(
            f"bundle expands to {total} bytes (> {MAX_UNCOMPRESSED_RATIO}× the upload limit): zip bomb?"
        )


def check_table_upload(data: bytes, *, name: str = "upload.csv") -> None:
    """An uploaded table must be non-empty UTF-8 text with at most 10 000 data rows."""
    if not data.strip():
        raise ApiError(400, "unusable_input", f"{name}: the file is empty")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ApiError(400, "unusable_input", f"{name}: not UTF-8 text (byte {e.start})") from e
    rows = data.count(b"\n") - 1
    if rows > MAX_CSV_ROWS:
        raise ApiError(
            413,
            "payload_too_large",
            f"{name}: {rows} rows; at most {MAX_CSV_ROWS}",
            details={"max_rows": MAX_CSV_ROWS},
        )
