"""Bad input: each a clear FlowError naming the file (and channel); the batch still completes."""

from __future__ import annotations

from pathlib import Path

import pytest

from immunome.assays import flow
from immunome.assays.flow._batch import process_batch
from immunome.errors import FlowError

TEMPLATE = Path(__file__).parent / "data" / "synth_template.xml"


@pytest.fixture
def bad_inputs(tmp_path: Path, synth_fcs) -> dict[str, Path]:
    good = synth_fcs("good.fcs")
    truncated = tmp_path / "truncated.fcs"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    not_fcs = tmp_path / "notes.fcs"
    not_fcs.write_text("sample,CD3\n1,2\n")
    no_fl1 = synth_fcs("no_fl1.fcs", drop=("FL1-A",))
    comp = tmp_path / "comp_mismatch.csv"
    comp.write_text("FL1-A,BOGUS-A\n1,0.1\n0.05,1\n")
    return {
        "good": good,
        "truncated": truncated,
        "not_fcs": not_fcs,
        "no_fl1": no_fl1,
        "comp": comp,
    }


def test_truncated_fcs_names_file(bad_inputs) -> None:
    with pytest.raises(FlowError, match=r"truncated\.fcs: cannot read FCS file"):
        flow.read_fcs(bad_inputs["truncated"])


def test_non_fcs_names_file_and_allowed_versions(bad_inputs) -> None:
    with pytest.raises(FlowError, match=r"notes\.fcs: not an FCS file") as e:
        flow.read_fcs(bad_inputs["not_fcs"])
    assert e.value.allowed == ["FCS2.0", "FCS3.0", "FCS3.1"]


def test_missing_gate_channel_names_file_gate_and_channel(bad_inputs) -> None:
    with pytest.raises(FlowError) as e:
        flow.process_fcs(bad_inputs["no_fl1"], template=TEMPLATE)
    msg = str(e.value)
    assert "no_fl1.fcs" in msg and "'FL1-A'" in msg and "'t_cell'" in msg
    assert e.value.context["channel"] == "FL1-A"
    assert "FSC-A" in e.value.allowed


def test_mismatched_spillover_names_file_and_channel(bad_inputs) -> None:
    with pytest.raises(FlowError) as e:
        flow.process_fcs(bad_inputs["good"], template=TEMPLATE, comp=bad_inputs["comp"])
    assert "good.fcs" in str(e.value) and "'BOGUS-A'" in str(e.value)
    assert e.value.context["channel"] == "BOGUS-A"


def test_file_spill_with_unknown_channel_is_an_error(tmp_path: Path, synth_fcs) -> None:
    import numpy as np

    from ._fcs import write_fcs

    f = write_fcs(
        tmp_path / "badspill.fcs",
        np.ones((50, 2)) * 100,
        ["FSC-A", "FL1-A"],
        spill="2,FL1-A,FL9-A,1,0,0,1",
    )
    with pytest.raises(FlowError, match=r"badspill\.fcs.*'FL9-A'"):
        flow.process_fcs(f, template=TEMPLATE)


def test_batch_completes_and_lists_every_failure(bad_inputs, tmp_path: Path) -> None:
    files = [bad_inputs[k] for k in ("truncated", "good", "not_fcs", "no_fl1")]
    res = process_batch(files, template=TEMPLATE, n_workers=0)
    assert [r.file for r in res.results] == [str(bad_inputs["good"])]
    assert {Path(f.file).name for f in res.failures} == {"truncated.fcs", "notes.fcs", "no_fl1.fcs"}
    assert all(Path(f.file).name in f.error for f in res.failures)
    assert [f.channel for f in res.failures if "no_fl1" in f.file] == ["FL1-A"]
    report = res.report()
    assert report["n_failed"] == 3 and report["n_ok"] == 1
    # a mismatched matrix fails every file of the batch, each with the channel named
    res2 = process_batch(
        [bad_inputs["good"]], template=TEMPLATE, comp=bad_inputs["comp"], n_workers=0
    )
    assert [f.channel for f in res2.failures] == ["BOGUS-A"]
