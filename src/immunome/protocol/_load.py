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


# libyaml's C loader when available: parsing the shipped protocol is ~10x faster.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    return _read_located(path)[0]


def _read_located(path: Path) -> tuple[Any, yaml.Node | None]:
    """Parse ``path`` into (data, node tree); the node tree gives line/column of every value."""
    try:
        text = path.read_text(encoding="utf-8")
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            return (loader.construct_document(node) if node is not None else None), node
        finally:
            loader.dispose()
    except UnicodeDecodeError as e:
        raise ProtocolError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ProtocolError(f"{where}: invalid YAML: {e}") from e


_Sources = dict[str, list[tuple[Path, Any]]]


def _items(path: Path, doc: Any, node: Any, key: str) -> list[tuple[Any, Path, Any]]:
    """The entries of list ``key`` in one YAML document, each with its file and node."""
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise ProtocolError(
            f"{path}:1:1: a protocol file must be a mapping (populations:, assays:, …)"
        )
    values = doc.get(key) or []
    if not isinstance(values, list):
        raise ProtocolError(f"{_where(path, _node_at(node, (key,)))}: {key} must be a list")
    nodes = _node_at(node, (key,))
    subs = list(nodes.value) if isinstance(nodes, yaml.SequenceNode) else [None] * len(values)
    return [(v, path, n) for v, n in zip(values, subs, strict=False)]


def _merge_folder(vdir: Path) -> tuple[dict[str, Any], Path, Any, _Sources]:
    main = vdir / "protocol.yaml"
    doc, root = _read_located(main)
    doc = doc or {}
    pops: dict[str, tuple[Any, Path, Any]] = {}
    assays = _items(main, doc, root, "assays")
    files = [(main, doc, root)] + [
        (f, *_read_located(f)) for f in sorted((vdir / "assays").glob("*.yaml"))
    ]
    for f, part, node in files:
        for i, (pop, pf, pn) in enumerate(_items(f, part, node, "populations")):
            pid = pop.get("id") if isinstance(pop, dict) else None
            key = pid if isinstance(pid, str) else f"#{f.name}:{i}"
            if key in pops and pops[key][0] != pop:
                raise ProtocolError(
                    f"{_where(pf, pn)}: [population-conflict] population {pid!r} is defined differently in "
                    f"{_where(pops[key][1], pops[key][2])}"
                )
            pops[key] = (pop, pf, pn)
        if f != main:
            assays.extend(_items(f, part, node, "assays"))
    doc["populations"] = [p for p, _, _ in pops.values()]
    doc["assays"] = [a for a, _, _ in assays]
    sources: _Sources = {
        "populations": [(f, n) for _, f, n in pops.values()],
        "assays": [(f, n) for _, f, n in assays],
    }
    return doc, main, root, sources


def _node_at(node: Any, loc: tuple[Any, ...]) -> Any:
    """Walk a composed YAML node along a pydantic ``loc``; stop at the deepest node found."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
    return node


def _where(path: Path, node: Any) -> str:
    if node is None:
        return str(path)
    return f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _locate_problem(
    problem: str, doc: dict[str, Any], sources: _Sources, main: Path, root: Any
) -> str:
    """Find the file:line:column of a cross-reference problem such as ``cbc.wbc: unknown unit x``."""
    import re

    m = re.match(r"(?:population (\S+?)|([\w-]+)\.([^:\s]+)|duplicate assay id (\S+))", problem)
    if m and m.group(1):
        for i, pop in enumerate(doc.get("populations", [])):
            if isinstance(pop, dict) and pop.get("id") == m.group(1):
                return _where(*sources["populations"][i])
    elif m and (m.group(2) or m.group(4)):
        aid = m.group(2) or m.group(4)
        for i, a in enumerate(doc.get("assays", [])):
            if isinstance(a, dict) and a.get("id") == aid:
                path, node = sources["assays"][i]
                for j, f in enumerate(a.get("features") or []):
                    if isinstance(f, dict) and f.get("id") == m.group(3):
                        return _where(path, _node_at(node, ("features", j)))
                return _where(path, node)
    return _where(main, root)


def _describe(e: ValidationError, doc: Any, main: Path, root: Any, sources: _Sources) -> list[str]:
    lines: list[str] = []
    for err in e.errors():
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if (
            len(loc) >= 2
            and loc[0] in sources
            and isinstance(loc[1], int)
            and loc[1] < len(sources[loc[0]])
        ):
            path, node = sources[loc[0]][loc[1]]
            where = _where(path, _node_at(node, loc[2:]))
        elif loc:
            where = _where(main, _node_at(root, loc))
        else:
            lines.extend(
                f"{_locate_problem(p, doc, sources, main, root)}: [protocol] {p}"
                for p in msg.split("; ")
            )
            continue
        field = ".".join(map(str, loc))
        got = err.get("input")
        shown = f" (got {got!r})" if not isinstance(got, dict | list) else ""
        lines.append(f"{where}: [protocol] {field}: {msg}{shown}")
    return lines


def protocol_from_path(path: str | Path) -> Protocol:
    """Load and validate a protocol from a YAML file or a version folder.

    Errors name the file, line and column of each problem, e.g.
    ``…/assays/cbc.yaml:12:5: [protocol] assays.0.features.3.unit: …``.

    Example:
        >>> from immunome.protocol._load import _data_root
        >>> protocol_from_path(_data_root() / "global-immunome-study" / "v1").version
        1
    """
    p = Path(path)
    if not p.exists():
        raise ProtocolError(f"{p}: no such protocol file or folder")
    if p.is_dir():
        if not (p / "protocol.yaml").is_file():
            raise ProtocolError(
                f"{p}: a protocol folder needs protocol.yaml (and optional assays/*.yaml)"
            )
        doc, main, root, sources = _merge_folder(p)
    else:
        (doc, root), main = _read_located(p), p
        sources = {
            k: [(p, n) for _, _, n in _items(p, doc, root, k)] for k in ("populations", "assays")
        }
    try:
        return Protocol.model_validate(doc)
    except ValidationError as e:
        lines = _describe(e, doc, main, root, sources)
        raise ProtocolError(
            f"invalid protocol ({len(lines)} problems):\n" + "\n".join(lines), problems=lines
        ) from e


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
