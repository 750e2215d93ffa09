"""Compensation parsing/sanity and per-file QC on generated files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from immunome.assays import flow
from immunome.assays.flow._comp import spill_from_sample
from immunome.errors import FlowError

TEMPLATE = Path(__file__).parent / "data" / "synth_template.xml"


def _qc(path: Path, comp=None) -> dict[str, tuple[float, str]]:
    s = flow.read_fcs(path)
    t = flow.qc_table(s, comp or spill_from_sample(s, file=str(path)))
    return {m: (v, f) for m, v, f in zip(t["metric"], t["value"], t["flag"], strict=True)}


def test_parse_spill_roundtrip() -> None:
    c = flow.parse_spill("2,A,B,1,0.1,0.2,1", source="x")
    assert c.channels == ("A", "B")
    assert c.matrix.tolist() == [[1, 0.1], [0.2, 1]]
    with pytest.raises(FlowError, match="declares 2 channels"):
        flow.parse_spill("2,A,B,1,0.1,0.2", source="x")


def test_comp_csv_with_row_labels_and_hash(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text(",FL1-A,FL2-A\nFL1-A,1,0.1\nFL2-A,0.05,1\n")
    c = flow.read_comp_csv(p)
    assert c.channels == ("FL1-A", "FL2-A") and c.matrix[0, 1] == pytest.approx(0.1)
    bad = tmp_path / "bad.csv"
    bad.write_text("FL1-A,FL2-A\n1,x\n0,1\n")
    with pytest.raises(FlowError, match=r"bad\.csv:2:2: not a number"):
        flow.read_comp_csv(bad)


def test_csv_equal_to_file_spill_gives_identical_populations(tmp_path: Path, synth_fcs) -> None:
    f = synth_fcs()
    p = tmp_path / "same.csv"
    p.write_text("FL1-A,FL2-A\n1,0.1\n0.05,1\n")
    a = flow.process_fcs(f, template=TEMPLATE)
    b = flow.process_fcs(f, template=TEMPLATE, comp=p)
    assert a.populations.equals(b.populations)
    assert a.compensation.endswith("$SPILL") and b.compensation == str(p)


def test_compensation_changes_gating(tmp_path: Path, synth_fcs) -> None:
    f = synth_fcs()
    p = tmp_path / "strong.csv"
    p.write_text("FL1-A,FL2-A\n1,0\n25,1\n")  # (implausibly) strong FL2 -> FL1 spillover
    base = flow.process_fcs(f, template=TEMPLATE).populations.set_index("population")
    strong = flow.process_fcs(f, template=TEMPLATE, comp=p).populations.set_index("population")
    assert strong.loc["t_cell", "count"] != base.loc["t_cell", "count"]


def test_clean_file_passes_qc(synth_fcs) -> None:
    qc = _qc(synth_fcs(n=20000))
    for m in (
        "event_count",
        "margin_fraction",
        "negative_scatter_fraction",
        "time_unstable_bin_fraction",
        "flow_rate_cv",
        "spill_diagonal_max_dev",
    ):
        assert qc[m][1] == "pass", (m, qc[m])
    assert qc["event_count"][0] == 20000


def test_qc_flags_saturation_negative_scatter_drift_and_few_events(synth_fcs) -> None:
    qc = _qc(synth_fcs(n=5000, saturate=0.2, negative=0.1, drift=3.0))
    assert qc["margin_fraction"] == (pytest.approx(0.2), "fail")
    assert qc["negative_scatter_fraction"] == (pytest.approx(0.1), "fail")
    assert qc["time_unstable_bin_fraction"][0] > 0.3
    assert qc["time_unstable_bin_fraction"][1] == "fail"
    assert _qc(synth_fcs("few.fcs", n=500))["event_count"][1] == "fail"


def test_spillover_sanity_flags_non_unit_diagonal(tmp_path: Path, synth_fcs) -> None:
    p = tmp_path / "diag.csv"
    p.write_text("FL1-A,FL2-A\n0.9,0.1\n0.05,1\n")
    qc = _qc(synth_fcs(), flow.read_comp_csv(p))
    assert qc["spill_diagonal_max_dev"] == (pytest.approx(0.1), "fail")
    assert qc["spill_channels_matched"] == (1.0, "pass")


def test_membership_is_and_of_parents(synth_fcs) -> None:
    s = flow.read_fcs(synth_fcs())
    res = flow.apply_gates(s, flow.load_template(TEMPLATE), compensation=None)
    lym, t = res.membership("lymphocyte"), res.membership("t_cell")
    assert t.sum() > 0 and not np.any(t & ~lym)
    row = res.populations.set_index("population").loc["t_cell"]
    assert row["parent_count"] == lym.sum() and row["count"] == t.sum()
    with pytest.raises(FlowError, match="unknown gate"):
        res.membership("nope")


PE_GATE = """<?xml version="1.0" encoding="UTF-8"?>
<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating"
    xmlns:transforms="http://www.isac-net.org/std/Gating-ML/v2.0/transformations"
    xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">
  <transforms:transformation transforms:id="logicle">
    <transforms:logicle transforms:T="262144" transforms:W="0.5" transforms:M="4.5"
        transforms:A="0"/>
  </transforms:transformation>
  <gating:RectangleGate gating:id="pe_pos">
    <gating:dimension gating:compensation-ref="FCS" gating:transformation-ref="logicle"
        gating:min="0.4"><data-type:fcs-dimension data-type:name="PE-A"/></gating:dimension>
  </gating:RectangleGate>
</gating:Gating-ML>
"""


@pytest.mark.realdata
def test_supplied_csv_replaces_file_spill_on_real_file(require_data, tmp_path: Path) -> None:
    import flowkit as fk

    fcs = require_data("flow/fcs/test_comp_example.fcs")  # DATA offset off by one: tolerated
    csv = require_data("flow/fcs/comp_complete_example.csv")
    tpl_path = tmp_path / "pe.xml"
    tpl_path.write_text(PE_GATE)
    tpl = flow.load_template(tpl_path)
    s = flow.read_fcs(fcs)
    assert (s.version, s.event_count) == ("3.0", 10703)
    matrix = flow.read_comp_csv(csv)
    got = flow.apply_gates(s, tpl, compensation=matrix).membership("pe_pos")
    # independent path: FlowKit compensates with the CSV values, logicle, threshold
    ref = flow.read_fcs(fcs)
    ref.apply_compensation(fk.Matrix(matrix.matrix, list(matrix.channels)))
    pe = ref.get_events(source="comp")[:, ref.get_channel_index("PE-A")]
    xf = fk.transforms.LogicleTransform(param_t=262144, param_w=0.5, param_m=4.5, param_a=0)
    expected = xf.apply(pe.reshape(-1, 1)).ravel() >= 0.4
    assert np.array_equal(got, expected)
    with_file_spill = flow.process_fcs(fcs, template=tpl).populations["count"].iloc[0]
    assert with_file_spill != got.sum()  # the file's $SPILL differs from the CSV
