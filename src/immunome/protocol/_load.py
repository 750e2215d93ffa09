"""Load shipped or user-supplied protocols.

A protocol version is a folder ``<id>/v<N>/`` holding ``protocol.yaml`` (participants, visits,
units, vocabularies) and ``assays/*.yaml`` (each with ``populations:`` and ``assays:`` lists),
so that assay panels can be amended file by file. A single YAML file with everything also works.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from immunome.errors import ProtocolError
from immunome.protocol._model import Protocol

DEFAULT_PROTOCOL = "global-immunome-study"


def _data_root() -> Path:
    return Path(str(resources.files("immunome.protocol") / "data"))


def list_protocols() -> list[tuple[str, int]]:
    """List shipped protocols as ``(id, version)`` pairs.

    Example:
        >>> ("global-immunome-study", 1) in list_protocols()
        True
    """
    out: list[tuple[str, int]] = []
    for pdir in sorted(_data_root().iterdir()):
        if pdir.is_dir():
            for vdir in sorted(pdir.glob("v*")):
                if vdir.name[1:].isdigit():
                    out.append((pdir.name, int(vdir.name[1:])))
    return out


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ProtocolError(f"{where}: invalid YAML: {e}") from e


def _merge_folder(vdir: Path) -> dict[str, Any]:
    doc = _read_yaml(vdir / "protocol.yaml") or {}
    pops: dict[str, dict[str, Any]] = {p["id"]: p for p in doc.get("populations", [])}
    assays = list(doc.get("assays", []))
    for f in sorted((vdir / "assays").glob("*.yaml")):
        part = _read_yaml(f) or {}
        for p in part.get("populations", []):
            if p["id"] in pops and pops[p["id"]] != p:
                raise ProtocolError(f"{f}: population {p['id']} defined differently elsewhere")
            pops[p["id"]] = p
        assays.extend(part.get("assays", []))
    doc["populations"] = list(pops.values())
    doc["assays"] = assays
    return doc


def protocol_from_path(path: str | Path) -> Protocol:
    """Load and validate a protocol from a YAML file or a version folder."""
    p = Path(path)
    if not p.exists():
        raise ProtocolError(f"{p}: no such protocol file or folder")
    doc = _merge_folder(p) if p.is_dir() else _read_yaml(p)
    try:
        return Protocol.model_validate(doc)
    except ValidationError as e:
        lines = [f"{p}: {'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()]
        raise ProtocolError("invalid protocol:\n" + "\n".join(lines)) from e


@lru_cache(maxsize=16)
def load_protocol(protocol_id: str = DEFAULT_PROTOCOL, version: int | None = None) -> Protocol:
    """Load a shipped protocol; ``version=None`` gives the latest.

    Example:
        >>> load_protocol().assay("cytof_pbmc").kind
        'cell_frequency'
    """
    versions = sorted(v for pid, v in list_protocols() if pid == protocol_id)
    if not versions:
        raise ProtocolError(
            f"unknown protocol {protocol_id!r}", allowed=sorted({p for p, _ in list_protocols()})
        )
    v = versions[-1] if version is None else version
    if v not in versions:
        raise ProtocolError(f"unknown version {v} of protocol {protocol_id!r}", allowed=versions)
    return protocol_from_path(_data_root() / protocol_id / f"v{v}")
