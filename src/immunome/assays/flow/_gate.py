"""Apply a Gating-ML template to one FlowKit sample: compensation, transforms and gates."""

from __future__ import annotations

from dataclasses import dataclass

import flowkit as fk
import numpy as np
import pandas as pd
from flowkit.exceptions import QuadrantReferenceError

from immunome.assays.flow._comp import Compensation
from immunome.assays.flow._template import Template, gate_channels
from immunome.errors import FlowError

#: Comp-ref under which the file's (or the supplied) spillover matrix is injected.
COMP_REF = "immunome-spill"

POPULATION_COLUMNS = [
    "sample_id", "population", "parent", "path", "count", "parent_count", "pct_parent",
    "pct_total",
]  # fmt: skip


@dataclass
class GateResult:
    """Per-population counts and per-event membership of one gated sample.

    Example:
        >>> res = apply_gates(sample, load_template("omip021"))  # doctest: +SKIP
        >>> res.populations[["population", "count", "pct_parent"]]  # doctest: +SKIP
    """

    sample_id: str
    populations: pd.DataFrame
    _results: object

    def membership(self, gate_id: str, *, path: tuple[str, ...] | None = None) -> np.ndarray:
        """Boolean per-event membership of ``gate_id`` (already AND-ed with its parents)."""
        try:
            return np.asarray(self._results.get_gate_membership(gate_id, gate_path=path), bool)
        except Exception as e:
            gates = sorted(set(self.populations["population"]))
            raise FlowError(f"{self.sample_id}: unknown gate {gate_id!r}", allowed=gates) from e


def _all_gates(gs: fk.GatingStrategy) -> list[object]:
    out = []
    for gate_id, path in gs.get_gate_ids():
        try:
            out.append(gs.get_gate(gate_id, path))
        except QuadrantReferenceError:
            continue
    return out


def _route_compensation(gs: fk.GatingStrategy, comp: Compensation | None) -> None:
    """Point every ``compensation-ref="FCS"`` at ``comp`` (or at no compensation if None)."""
    if comp is not None:
        gs.add_comp_matrix(COMP_REF, comp.to_flowkit())
    for gate in _all_gates(gs):
        for dim in getattr(gate, "dimensions", None) or []:
            if getattr(dim, "compensation_ref", None) == "FCS":
                dim.compensation_ref = COMP_REF if comp is not None else "uncompensated"


def _check_channels(gs: fk.GatingStrategy, sample: fk.Sample, *, file: str) -> None:
    known = set(sample.pnn_labels) | set(sample.pns_labels)
    known |= {lab.replace("/", "_") for lab in sample.pnn_labels}
    for m in gs.comp_matrices.values():
        known |= set(m.fluorochromes) | set(m.detectors)
    for gate_id, chans in gate_channels(gs).items():
        for ch in chans:
            if ch not in known:
                raise FlowError(
                    f"{file}: gate {gate_id!r} needs channel {ch!r}, which the file lacks",
                    allowed=list(sample.pnn_labels),
                    file=file,
                    channel=ch,
                    gate=gate_id,
                )


def _population_table(report: pd.DataFrame, sample_id: str, n_total: int) -> pd.DataFrame:
    rows = []
    counts = {}
    for r in report.itertuples(index=False):
        counts[(tuple(r.gate_path), r.gate_name)] = int(r.count)
    for r in report.itertuples(index=False):
        gpath = tuple(r.gate_path)
        parent = gpath[-1]
        parent_count = n_total if parent == "root" else counts.get((gpath[:-1], parent))
        if r.quadrant_parent:
            gpath = (*gpath, r.quadrant_parent)
        if parent_count is None:
            parent_count = (
                round(float(r.count) * 100.0 / r.relative_percent) if r.relative_percent else 0
            )
        rows.append(
            {
                "sample_id": sample_id,
                "population": r.gate_name,
                "parent": parent,
                "path": "/".join((*gpath[1:], r.gate_name)),
                "count": int(r.count),
                "parent_count": int(parent_count),
                "pct_parent": float(r.relative_percent),
                "pct_total": float(r.absolute_percent),
            }
        )
    df = pd.DataFrame(rows, columns=POPULATION_COLUMNS)
    return df.sort_values(["path"], kind="stable").reset_index(drop=True)


def apply_gates(
    sample: fk.Sample,
    template: Template,
    *,
    compensation: Compensation | None = None,
    file: str | None = None,
) -> GateResult:
    """Compensate, transform and gate ``sample`` with ``template`` (FlowKit does the maths).

    Gates whose dimensions say ``compensation-ref="FCS"`` use ``compensation`` (the file's
    ``$SPILL`` or a supplied CSV); without one they read uncompensated data, as Gating-ML 2.0
    prescribes. Transformed channels are cached across gates of the same sample.

    Example:
        >>> apply_gates(read_fcs("x.fcs"), load_template("omip021"))  # doctest: +SKIP
    """
    where = file or sample.id
    gs = template.strategy()
    _route_compensation(gs, compensation)
    _check_channels(gs, sample, file=where)
    try:
        results = gs.gate_sample(sample, cache_events=True)
    except FlowError:
        raise
    except Exception as e:
        raise FlowError(f"{where}: gating with template {template.name!r} failed: {e}") from e
    table = _population_table(results.report, sample.id, sample.event_count)
    return GateResult(sample.id, table, results)
