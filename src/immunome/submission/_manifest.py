"""The bundle manifest (``manifest.yaml``, format ``immunome-bundle/1``)."""

from __future__ import annotations

import re
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from immunome.submission._report import ValidationReport

BUNDLE_FORMAT = "immunome-bundle/1"
MANIFEST = "manifest.yaml"
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def _check_path(v: str) -> str:
    parts = v.split("/")
    if not _SAFE_PATH.match(v) or any(p in ("", ".", "..") for p in parts):
        raise ValueError(
            f"{v!r} is not a plain relative path inside the bundle "
            "(letters, digits, '_', '-', '.', '/' separators; no '..')"
        )
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AssayFile(_Strict):
    """One assay table of the bundle."""

    file: str
    assay: str
    layout: Literal["wide", "long"] = "wide"
    units: dict[str, str] = Field(default_factory=dict)

    _path = field_validator("file")(classmethod(lambda cls, v: _check_path(v)))


class QcFile(_Strict):
    """One per-sample QC table (``sample_id, assay, metric, value, flag``)."""

    file: str

    _path = field_validator("file")(classmethod(lambda cls, v: _check_path(v)))


class Manifest(_Strict):
    """Parsed ``manifest.yaml``.

    Example:
        >>> Manifest(format="immunome-bundle/1", site="SITE01", protocol_version=1).samples
        'samples.csv'
    """

    format: Literal["immunome-bundle/1"]
    site: str = Field(pattern=r"^[A-Za-z0-9_-]{2,32}$")
    protocol: str = "global-immunome-study"
    protocol_version: int
    description: str = ""
    participants: str | list[str] = "participants.csv"
    samples: str = "samples.csv"
    assays: list[AssayFile] = Field(default_factory=list)
    qc: list[QcFile] = Field(default_factory=list)

    @field_validator("participants")
    @classmethod
    def _participants_paths(cls, v: str | list[str]) -> str | list[str]:
        for p in [v] if isinstance(v, str) else v:
            _check_path(p)
        if isinstance(v, list) and not v:
            raise ValueError("at least one participants file is needed")
        return v

    @field_validator("samples")
    @classmethod
    def _samples_path(cls, v: str) -> str:
        return _check_path(v)

    @property
    def participant_files(self) -> list[str]:
        """Participant files as a list."""
        return (
            [self.participants] if isinstance(self.participants, str) else list(self.participants)
        )

    def files(self) -> list[str]:
        """Every data file the manifest names, in a stable order."""
        out = [*self.participant_files, self.samples]
        out += [a.file for a in self.assays] + [q.file for q in self.qc]
        return out


def _locate(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int | None, int | None]:
    """1-based (line, column) of the YAML node at ``loc`` (deepest existing node)."""
    node = root
    line = col = None
    if node is not None:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
    for key in loc:
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    nxt = v
                    line, col = k.start_mark.line + 1, k.start_mark.column + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
            line, col = nxt.start_mark.line + 1, nxt.start_mark.column + 1
        if nxt is None:
            break
        node = nxt
    return line, col


def parse_manifest(text: str, report: ValidationReport) -> Manifest | None:
    """Parse manifest text; every schema problem goes to ``report`` (rule ``manifest``).

    Example:
        >>> r = ValidationReport()
        >>> parse_manifest("format: immunome-bundle/1\\nsite: S1x\\nprotocol_version: 1\\n", r).site
        'S1x'
    """
    try:
        root = yaml.compose(text)
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        report.add(
            MANIFEST,
            mark.line + 1 if mark else None,
            None,
            "manifest-yaml",
            f"invalid YAML: {getattr(e, 'problem', e)}",
        )
        return None
    if not isinstance(doc, dict):
        report.add(MANIFEST, 1, None, "manifest", "manifest must be a YAML mapping")
        return None
    try:
        return Manifest.model_validate(doc)
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("list[")))
            line, _ = _locate(root, loc)
            field = ".".join(map(str, loc)) or None
            allowed = None
            if err["type"] == "extra_forbidden":
                allowed = list(Manifest.model_fields) if len(loc) == 1 else None
            if err["type"] == "literal_error" and loc and loc[-1] == "format":
                allowed = [BUNDLE_FORMAT]
            if err["type"] == "literal_error" and loc and loc[-1] == "layout":
                allowed = ["wide", "long"]
            report.add(MANIFEST, line, field, "manifest", err["msg"], allowed=allowed)
        return None
