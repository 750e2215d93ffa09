"""Shipped templates, Gating-ML and FlowJo workspace loading."""

from __future__ import annotations

import pytest

from immunome.assays import flow
from immunome.errors import FlowError
from immunome.protocol import load_protocol


def test_shipped_templates_map_to_protocol_assays() -> None:
    proto = load_protocol()
    for tpl in flow.list_templates():
        assay = proto.assay(tpl.assay)
        pops = {f.population for f in assay.features}
        gates = {g for g, _ in tpl.strategy().get_gate_ids()}
        # every non-quadrant-container gate is a protocol population of the assay
        containers = {"cd4_cd8", "cd4_memory", "cd8_memory"}
        assert gates - containers == pops, tpl.name


def test_tcell_template_hierarchy() -> None:
    gs = flow.load_template("tcell-memory-100715").strategy()
    paths = {g: p for g, p in gs.get_gate_ids()}
    assert paths["naive_cd4_t_cell"] == (
        "root", "lymphocyte", "singlet_lymphocyte", "live_lymphocyte", "t_cell", "cd4_cd8",
        "cd4_t_cell", "cd4_memory",
    )  # fmt: skip
    chans = flow.load_template("tcell-memory-100715").gate_channels()
    assert chans["cd4_memory"] == ["G610-A", "R660-A"]  # CCR7 x CD45RO


def test_unknown_template_lists_shipped_names(tmp_path) -> None:
    with pytest.raises(FlowError) as e:
        flow.load_template("nope")
    assert e.value.allowed == ["omip021", "tcell-memory-100715"]
    bad = tmp_path / "bad.xml"
    bad.write_text("<not-gating-ml/>")
    with pytest.raises(FlowError, match=r"bad\.xml: invalid Gating-ML"):
        flow.load_template(bad)


@pytest.mark.realdata
def test_flowjo_workspace_and_gatingml_hierarchy(require_data) -> None:
    wsp = flow.load_template(require_data("flow/8_color_ICS/8_color_ICS.wsp"))
    gml = flow.load_template(require_data("flow/8_color_ICS/8_color_ICS.xml"))
    wsp_gates = {g for g, _ in wsp.strategy().get_gate_ids()}
    assert {"Singlets", "CD3+", "CD4+", "CD8+", "IFNg+", "TNFa+"} <= wsp_gates
    assert wsp.gate_channels()["Singlets"] == ["FSC-W", "FSC-H"]
    assert {"CD3-pos", "CD4-pos", "CD8-pos", "Singlets"} <= {
        g for g, _ in gml.strategy().get_gate_ids()
    }
    with pytest.raises(FlowError, match="no sample 'x.fcs'"):
        flow.load_template(require_data("flow/8_color_ICS/8_color_ICS.wsp"), wsp_sample="x.fcs")
