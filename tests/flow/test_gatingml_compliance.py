"""Gating-ML 2.0 compliance suite: per-event membership equals the ISAC truth files."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from immunome.assays import flow

SUITE = "flow/gatingml_compliance"

# Every truth file of the suite (truth/Results_<gate>.txt); one test each.
GATES = [
    "And1", "And2", "And3", "And4", "Ellipse1", "Ellipsoid3D", "FL2N-FL4N", "FL2N-FL4P",
    "FL2P-FL4N", "FL2P-FL4P", "FSCD-FL1P", "FSCD-SSCN-FL1N", "FSCN-SSCN", "FSCN-SSCP-FL1P",
    "FSCP-SSCN-FL1N", "Not1", "Or1", "Or2", "ParAnd2", "ParAnd3", "ParQuadRect", "Polygon1",
    "Polygon2", "Polygon3NS", "Polygon4", "Range1", "Range2", "RatRange1", "RatRange1a",
    "RatRange2", "Rectangle1", "Rectangle2", "Rectangle3", "Rectangle4", "Rectangle5",
    "ScalePar1", "ScaleRange1", "ScaleRange1c", "ScaleRange2", "ScaleRange2c", "ScaleRange3",
    "ScaleRange3c", "ScaleRange4", "ScaleRange4c", "ScaleRange5", "ScaleRange5c", "ScaleRange6",
    "ScaleRange6c", "ScaleRange7c", "ScaleRange8c", "ScaleRect1",
]  # fmt: skip


# Truth files whose gate lives outside gml_all_gates.xml, or under another gate id.
ELSEWHERE = {
    "ParQuadRect": ("gml_parent_quadrant_rect_gate.xml", "ParRectangle1"),
    "Ellipsoid3D": ("gml_ellipsoid3d_gate.xml", "Ellipsoid3D"),
}


def _gml_for(gml_dir: Path, truth_name: str) -> tuple[Path, str]:
    """The Gating-ML file and gate id of a truth file."""
    fname, gate = ELSEWHERE.get(truth_name, ("gml_all_gates.xml", truth_name))
    return gml_dir / fname, gate


@cache
def _gate_file(fcs: Path, gml: Path) -> flow.GateResult:
    tpl = flow.load_template(gml)
    return flow.apply_gates(flow.read_fcs(fcs), tpl, compensation=None)


def test_suite_lists_every_truth_file(require_data) -> None:
    truth = require_data(f"{SUITE}/truth")
    found = sorted(p.name[len("Results_") : -len(".txt")] for p in truth.glob("Results_*.txt"))
    assert found == sorted(GATES)


@pytest.mark.realdata
@pytest.mark.parametrize("gate", GATES)
def test_gate_membership_equals_truth(require_data, gate: str) -> None:
    fcs = require_data(f"{SUITE}/data1.fcs")
    truth = np.loadtxt(require_data(f"{SUITE}/truth/Results_{gate}.txt"), dtype=int).astype(bool)
    gml, gate_id = _gml_for(require_data(f"{SUITE}/gml"), gate)
    got = _gate_file(fcs, gml).membership(gate_id)
    assert got.shape == truth.shape
    mismatched = np.flatnonzero(got != truth)
    assert mismatched.size == 0, f"{gate}: {mismatched.size} events differ, first {mismatched[:5]}"
