"""Batches on Dask (LocalCluster and --scheduler), the resumable cache, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from immunome.assays.flow._batch import process_batch
from immunome.cli import app
from immunome.errors import ImmunomeWarning

TEMPLATE = Path(__file__).parent / "data" / "synth_template.xml"


@pytest.mark.slow
def test_dask_batch_cache_and_scheduler_address(synth_fcs, tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    good = [synth_fcs(f"s{i}.fcs", seed=i) for i in range(3)]
    bad = tmp_path / "bad.fcs"
    bad.write_bytes(b"FCS3.1" + b"\0" * 20)
    files = [good[0], bad, good[1], good[2]]
    cache = tmp_path / "cache"
    serial = process_batch(files, template=TEMPLATE, n_workers=0)
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        first = process_batch(
            files, template=TEMPLATE, cache_dir=cache, scheduler=cluster.scheduler_address
        )
    assert [r.file for r in first.results] == [str(f) for f in good]
    assert [Path(f.file).name for f in first.failures] == ["bad.fcs"]
    assert "bad.fcs" in first.failures[0].error
    assert not any(r.cached for r in first.results)
    pd.testing.assert_frame_equal(first.populations(), serial.populations())
    # resumed on the default LocalCluster: same content + template → every good file skipped
    again = process_batch(files, template=TEMPLATE, cache_dir=cache, n_workers=1)
    assert [r.cached for r in again.results] == [True, True, True]
    pd.testing.assert_frame_equal(again.populations(), first.populations())
    assert len(again.failures) == 1  # failures are never cached


def test_cache_key_follows_content_not_name(synth_fcs, tmp_path: Path) -> None:
    a = synth_fcs("a.fcs", seed=1)
    cache = tmp_path / "c"
    process_batch([a], template=TEMPLATE, cache_dir=cache, n_workers=0)
    copy = tmp_path / "renamed.fcs"
    copy.write_bytes(a.read_bytes())
    other = synth_fcs("b.fcs", seed=2)
    res = process_batch(
        [copy, other], template=TEMPLATE, cache_dir=cache, n_workers=0, sample_ids=["X1", "X2"]
    )
    assert [r.cached for r in res.results] == [True, False]
    assert set(res.results[0].populations["sample_id"]) == {"X1"}


def test_cli_process_bundle_submit_and_report(synth_fcs, tmp_path: Path) -> None:
    good = [synth_fcs("d1.fcs", seed=1), synth_fcs("d2.fcs", seed=2)]
    bad = tmp_path / "junk.fcs"
    bad.write_text("not flow data")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "file,participant_id,day,age,sex\nd1.fcs,P1,0,30,female\nd2.fcs,P2,0,40,male\n"
    )
    args = [
        "flow",
        "process",
        *map(str, [*good, bad]),
        "--template",
        str(TEMPLATE),
        "--assay",
        "flow_tcell_memory",
        "--sample-sheet",
        str(sheet),
        "--workers",
        "0",
        "--no-progress",
        "--cache",
        str(tmp_path / "cache"),
        "--bundle",
        str(tmp_path / "bundle"),
        "--submit",
        "--store",
        str(tmp_path / "st"),
        "--report",
        str(tmp_path / "report.json"),
        "--populations",
        str(tmp_path / "pops.csv"),
    ]
    with pytest.warns(ImmunomeWarning, match=r"t_cell \(of lymphocyte\)"):
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output  # one file failed …
    assert "submitted: ingested" in result.output  # … but the rest went through
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["n_ok"] == 2 and report["n_failed"] == 1
    assert report["spec"]["assay"] == "flow_tcell_memory"  # the resolved run spec
    assert len(report["spec"]["template_sha256"]) == 64
    assert report["failures"][0]["file"].endswith("junk.fcs")
    assert "not an FCS file" in report["failures"][0]["error"]
    pops = pd.read_csv(tmp_path / "pops.csv")
    assert set(pops["population"]) == {"lymphocyte", "t_cell"}
    feats = pd.read_csv(tmp_path / "bundle" / "flow_tcell_memory.csv")
    # t_cell of lymphocyte is not a feature (the assay has t_cell of live_lymphocyte)
    assert set(feats["feature"]) == {"lymphocyte"}
    qc = pd.read_csv(tmp_path / "bundle" / "flow_qc.csv")
    assert set(qc["sample_id"]) == {"d1", "d2"} and set(qc["assay"]) == {"flow_tcell_memory"}


def test_cli_templates_and_qc(real_fcs) -> None:
    out = CliRunner().invoke(app, ["flow", "templates", "--json"])
    assert out.exit_code == 0
    assert {t["name"] for t in json.loads(out.output)} == {"tcell-memory-100715", "omip021"}
    qc = CliRunner().invoke(app, ["flow", "qc", str(real_fcs("OMIP021_Donor2.fcs")), "--json"])
    assert qc.exit_code == 0, qc.output
    rows = {r["metric"]: r for r in json.loads(qc.output)}
    assert rows["event_count"]["value"] == 5000


def test_cli_bundle_needs_sample_sheet(synth_fcs) -> None:
    res = CliRunner().invoke(
        app,
        [
            "flow",
            "process",
            str(synth_fcs()),
            "--template",
            str(TEMPLATE),
            "--bundle",
            "x",
            "--workers",
            "0",
        ],
    )
    assert res.exit_code != 0
    assert "sample-sheet" in str(res.exception) + res.output
