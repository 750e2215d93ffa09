"""100715.fcs and both OMIP-021 donors end to end: populations → bundle → store.

The frequencies pinned here are the ones documented in docs/flow.md.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from immunome.assays import flow
from immunome.assays.flow._batch import process_batch
from immunome.assays.flow._bundle import write_bundle
from immunome.protocol import load_protocol
from immunome.submission import validate_bundle

from ._fcs import sample_sheet

pytestmark = pytest.mark.realdata

# population: (count, parent count) — docs/flow.md, "Reference frequencies".
EXPECTED = {
    "100715.fcs": {
        "lymphocyte": (60651, 65016), "singlet_lymphocyte": (60017, 60651),
        "live_lymphocyte": (60012, 60017), "cd19_pos_cd3_neg": (474, 60012),
        "t_cell": (25001, 60012), "cd4_t_cell": (3360, 25001), "cd8_t_cell": (1853, 25001),
        "double_negative_t_cell": (13995, 25001), "double_positive_t_cell": (5793, 25001),
        "naive_cd4_t_cell": (925, 3360), "central_memory_cd4_t_cell": (1870, 3360),
        "effector_memory_cd4_t_cell": (484, 3360), "temra_cd4_t_cell": (81, 3360),
        "proliferating_cd4_t_cell": (64, 3360), "cd127_pos_cd4_t_cell": (2898, 3360),
        "naive_cd8_t_cell": (655, 1853), "central_memory_cd8_t_cell": (1109, 1853),
        "effector_memory_cd8_t_cell": (34, 1853), "temra_cd8_t_cell": (55, 1853),
        "proliferating_cd8_t_cell": (30, 1853), "cd57_pos_cd8_t_cell": (2, 1853),
    },
    "OMIP021_Donor1.fcs": {
        "lymphocyte": (2757, 5000), "singlet_lymphocyte": (2753, 2757),
        "live_lymphocyte": (2676, 2753),
    },
    "OMIP021_Donor2.fcs": {
        "lymphocyte": (3100, 5000), "singlet_lymphocyte": (3097, 3100),
        "live_lymphocyte": (3032, 3097),
    },
}  # fmt: skip
TEMPLATES = {
    "100715.fcs": "tcell-memory-100715",
    "OMIP021_Donor1.fcs": "omip021",
    "OMIP021_Donor2.fcs": "omip021",
}


@pytest.fixture(scope="module")
def processed(require_data) -> dict[str, flow.FlowResult]:
    return {
        name: flow.process_fcs(require_data(f"flow/fcs/{name}"), template=tpl)
        for name, tpl in TEMPLATES.items()
    }


@pytest.mark.parametrize("name", list(EXPECTED))
def test_frequencies_equal_documented_values(processed, name: str) -> None:
    pops = processed[name].populations.set_index("population")
    got = {p: (int(r["count"]), int(r["parent_count"])) for p, r in pops.iterrows()}
    assert got == EXPECTED[name]
    for p, (n, parent) in EXPECTED[name].items():
        assert pops.loc[p, "pct_parent"] == pytest.approx(100.0 * n / parent, abs=1e-9)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_identical_across_runs(processed, require_data, name: str) -> None:
    again = flow.process_fcs(require_data(f"flow/fcs/{name}"), template=TEMPLATES[name])
    pd.testing.assert_frame_equal(again.populations, processed[name].populations, check_exact=True)
    pd.testing.assert_frame_equal(again.qc, processed[name].qc, check_exact=True)


def test_every_template_gate_is_a_protocol_feature(processed) -> None:
    proto = load_protocol()
    for name, res in processed.items():
        assay = proto.assay(flow.load_template(TEMPLATES[name]).assay)
        feats = {(f.population, f.denominator) for f in assay.features}
        for r in res.populations.itertuples():
            assert (r.population, "all_events" if r.parent == "root" else r.parent) in feats


def test_qc_of_real_files(processed) -> None:
    qc = processed["OMIP021_Donor1.fcs"].qc.set_index("metric")
    assert qc.loc["event_count", "value"] == 5000
    assert qc.loc["time_channel_present", "value"] == 1.0
    assert qc.loc["spill_diagonal_max_dev", "flag"] == "pass"
    assert qc.loc["spill_channels_matched", "value"] == 1.0
    qc2 = processed["100715.fcs"].qc.set_index("metric")
    assert qc2.loc["time_channel_present", "value"] == 0.0  # no Time channel: event order
    assert qc2.loc["spill_offdiagonal_max", "flag"] == "warn"  # a coefficient > 1 (1.238)


@pytest.mark.slow
def test_bundles_validate_and_store_accepts(require_data, tmp_path: Path) -> None:
    from immunome.store import open_store

    store = open_store(tmp_path / "store")
    # one site per panel: a later bundle of the same site supersedes the earlier one
    for site, tpl, names in (
        ("FLOW01", "tcell-memory-100715", ["100715.fcs"]),
        ("FLOW02", "omip021", ["OMIP021_Donor1.fcs", "OMIP021_Donor2.fcs"]),
    ):
        files = [require_data(f"flow/fcs/{n}") for n in names]
        res = process_batch(files, template=tpl, n_workers=0)
        assert res.ok
        sheet = sample_sheet(tmp_path / f"{tpl}-sheet.csv", files)
        bundle = write_bundle(
            res.results, tmp_path / f"bundle-{tpl}", sample_sheet=sheet, site=site
        )
        report = validate_bundle(bundle)
        assert report.ok, [str(i) for i in report.issues]
        assert store.submit(bundle).status == "ingested"
        assert store.submit(bundle).status == "unchanged"
    cohort = store.release(store.create_release().release_id)
    m = cohort.matrix("flow_tcell_memory")
    assert m.shape == (1, len(EXPECTED["100715.fcs"]))
    assert m["t_cell"].iloc[0] == pytest.approx(100 * 25001 / 60012, abs=1e-4)
    omip = cohort.matrix("flow_omip021")
    assert sorted(omip["live_lymphocyte"].round(4)) == [
        round(100 * 2676 / 2753, 4),
        round(100 * 3032 / 3097, 4),
    ]
    qc = cohort.qc  # QC travels with the features into the release
    flow_qc = qc[qc["assay"].isin(["flow_tcell_memory", "flow_omip021"])]
    assert len(flow_qc["sample_id"].unique()) == 3
    assert {
        "event_count",
        "margin_fraction",
        "time_unstable_bin_fraction",
        "spill_diagonal_max_dev",
    } <= set(flow_qc["metric"])
