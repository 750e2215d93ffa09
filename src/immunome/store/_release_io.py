"""Deterministic Parquet writing and content hashing for releases."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

RELEASE_FORMAT = "immunome-release/1"
MANIFEST = "manifest.json"


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` so that identical content gives identical bytes (no index, no timestamps)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path, compression="zstd", write_statistics=True)


def write_json(obj: Any, path: Path) -> None:
    """Write canonical JSON (sorted keys) for hashing stability."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def hash_tree(root: Path) -> dict[str, str]:
    """Map every file below ``root`` (except the manifest) to its sha256, keyed by posix path."""
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            out[p.relative_to(root).as_posix()] = sha256_file(p)
    return out


def content_hash(files: dict[str, str]) -> str:
    """sha256 over sorted ``path\\tsha256`` lines: the release's content address."""
    text = "".join(f"{k}\t{files[k]}\n" for k in sorted(files))
    return hashlib.sha256(text.encode()).hexdigest()


def release_id_for(files: dict[str, str]) -> str:
    """Release id from file hashes: ``r-`` + 16 hex chars.

    Example:
        >>> release_id_for({"a.parquet": "00"})[:2]
        'r-'
    """
    return "r-" + content_hash(files)[:16]
