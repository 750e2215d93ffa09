"""Gating templates: Gating-ML 2.0 files (parsed by FlowKit), shipped or user-supplied."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import flowkit as fk
from flowkit import gates as fk_gates
from flowkit._models.dimension import Dimension, QuadrantDivider, RatioDimension

from immunome.errors import FlowError

#: Shipped example templates: name -> (file, protocol assay id, description).
_SHIPPED: dict[str, tuple[str, str, str]] = {
    "tcell-memory-100715": (
        "tcell_memory_100715.xml",
        "flow_tcell_memory",
        "16-colour T-cell memory panel (FACSAria, 100715.fcs): lymphocytes > singlets > live > "
        "CD3 > CD4/CD8 > naive/CM/EM/TEMRA by CCR7 x CD45RO",
    ),
    "omip021": (
        "omip021.xml",
        "flow_omip021",
        "OMIP-021 innate-like T-cell panel (LSRFortessa): lymphocytes > singlets > live",
    ),
}


@dataclass(frozen=True)
class Template:
    """A Gating-ML 2.0 template and the protocol assay its populations belong to.

    Example:
        >>> t = load_template("omip021")
        >>> t.assay
        'flow_omip021'
    """

    name: str
    xml: bytes
    assay: str | None = None
    description: str = ""
    path: str | None = None
    wsp_sample: str | None = None  # FlowJo workspace: whose gate tree to use

    @property
    def sha256(self) -> str:
        """Hash of the template content (part of the batch cache key)."""
        return hashlib.sha256(self.xml).hexdigest()

    def strategy(self) -> fk.GatingStrategy:
        """A fresh FlowKit ``GatingStrategy`` (callers may mutate it)."""
        if self.wsp_sample is not None:
            return _wsp_samples(self.xml, self.path or self.name)[self.wsp_sample]
        try:
            return fk.parse_gating_xml(io.BytesIO(self.xml))
        except Exception as e:
            raise FlowError(f"{self.path or self.name}: invalid Gating-ML 2.0: {e}") from e

    def gate_channels(self) -> dict[str, list[str]]:
        """Map each gate id to the channel names (``$PnN`` or ``$PnS``) it reads."""
        return gate_channels(self.strategy())


def _dim_channels(gs: fk.GatingStrategy, dim: object) -> list[str]:
    if isinstance(dim, RatioDimension):
        xf = gs.transformations.get(dim.ratio_ref)
        return list(getattr(xf, "dimensions", []) or [])
    if isinstance(dim, QuadrantDivider):
        return [dim.dimension_ref]
    if isinstance(dim, Dimension):
        return [dim.id]
    return []


def gate_channels(gs: fk.GatingStrategy) -> dict[str, list[str]]:
    """Channels named by each gate of a strategy (boolean gates read none)."""
    out: dict[str, list[str]] = {}
    for gate_id, path in gs.get_gate_ids():
        try:
            gate = gs.get_gate(gate_id, path)
        except Exception:  # a quadrant of a QuadrantGate: its channels belong to the parent
            continue
        if isinstance(gate, fk_gates.BooleanGate):
            continue
        chans: list[str] = []
        for dim in gate.dimensions:
            chans.extend(c for c in _dim_channels(gs, dim) if c not in chans)
        out[gate_id] = chans
    return out


def _wsp_samples(data: bytes, where: str) -> dict[str, fk.GatingStrategy]:
    """Per-sample gate trees of a FlowJo 10 workspace (parsed by FlowKit)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FlowKit warns about every FCS file not loaded
            parsed = fk.parse_wsp(io.BytesIO(data))
    except Exception as e:
        raise FlowError(f"{where}: not a FlowJo workspace FlowKit can read: {e}") from e
    return {sid: d["gating_strategy"] for sid, d in parsed["samples"].items()}


def _load_wsp(p: Path, *, assay: str | None, sample: str | None) -> Template:
    data = p.read_bytes()
    samples = _wsp_samples(data, str(p))
    if not samples:
        raise FlowError(f"{p}: the workspace has no samples with gates")
    sid = sample or sorted(samples)[0]
    if sid not in samples:
        raise FlowError(f"{p}: no sample {sid!r} in the workspace", allowed=sorted(samples))
    return Template(p.stem, data, assay, f"FlowJo workspace, gates of {sid}", str(p), sid)


def _templates_dir() -> Path:
    return Path(str(resources.files("immunome.assays.flow") / "templates"))


def list_templates() -> list[Template]:
    """The shipped example templates.

    Example:
        >>> sorted(t.name for t in list_templates())
        ['omip021', 'tcell-memory-100715']
    """
    return [load_template(name) for name in sorted(_SHIPPED)]


def load_template(
    name_or_path: str | Path, *, assay: str | None = None, wsp_sample: str | None = None
) -> Template:
    """Load a shipped template by name, a Gating-ML 2.0 file, or a FlowJo ``.wsp`` by path.

    ``assay`` overrides the protocol assay id (required to build a bundle from a custom file).
    For a workspace, the gate tree of ``wsp_sample`` (default: the first sample) is used, as far
    as FlowKit supports FlowJo gates.

    Example:
        >>> load_template("tcell-memory-100715").assay
        'flow_tcell_memory'
    """
    key = str(name_or_path)
    if key in _SHIPPED:
        fname, shipped_assay, desc = _SHIPPED[key]
        p = _templates_dir() / fname
        return Template(key, p.read_bytes(), assay or shipped_assay, desc, str(p))
    p = Path(key)
    if not p.is_file():
        raise FlowError(
            f"{key}: no such gating template (neither a shipped name nor a file)",
            allowed=sorted(_SHIPPED),
        )
    if p.suffix.lower() == ".wsp":
        return _load_wsp(p, assay=assay, sample=wsp_sample)
    tpl = Template(p.stem, p.read_bytes(), assay, "", str(p))
    tpl.strategy()  # fail early on invalid Gating-ML
    return tpl
