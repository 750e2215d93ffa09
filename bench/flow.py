"""Benchmark: flow cytometry compensate + transform + gate throughput (events/s).

Runs, on N symlinked copies of ``100715.fcs`` totalling ≥ ``--events`` events, in one process:

* ``flowkit_session`` — the reference: FlowKit's own ``Sample`` + ``Session.analyze_samples``
  (``use_mp=False``) with the same Gating-ML template, one file at a time;
* ``immunome_gate`` — ``read_fcs`` + the file's ``$SPILL`` + ``apply_gates`` (same gates);
* ``immunome_full`` — ``process_fcs`` (adds content hash and QC);
* ``dask_1`` / ``dask_2`` — ``process_batch`` on a LocalCluster with 1 and 2 worker processes
  (cluster start-up excluded, no cache).

Prints one JSON object: events/s per run, ``ratio_vs_flowkit`` (target ≥ 1.0) and
``dask_speedup_2_vs_1`` (target ≥ 1.6), plus the machine load (``os.getloadavg``) and a check
that our counts equal FlowKit's, and the CPU cores the Dask workers actually received
(worker CPU seconds / wall seconds): on a shared machine the 1→2 speedup is bounded by it.

    python bench/flow.py                      # 10M events (~154 copies)
    python bench/flow.py --events 1000000     # quicker
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import flowkit as fk
import pandas as pd

from immunome.assays import flow
from immunome.assays.flow._batch import process_batch
from immunome.assays.flow._comp import spill_from_sample

N_EVENTS_100715 = 65016


def _default_fcs() -> Path:
    root = os.environ.get("IMMUNOME_DATA") or str(
        Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    return Path(root) / "flow" / "fcs" / "100715.fcs"


def _copies(src: Path, n: int, where: Path) -> list[Path]:
    out = []
    for i in range(n):
        p = where / f"copy{i:04d}.fcs"
        p.symlink_to(src.resolve())
        out.append(p)
    return out


def _timed(fn, files: list[Path]) -> tuple[float, object]:  # noqa: ANN001
    t = time.perf_counter()
    last = None
    for f in files:
        last = fn(f)
    return time.perf_counter() - t, last


def run_flowkit(tpl: flow.Template):  # noqa: ANN201
    def one(f: Path) -> pd.DataFrame:
        gs = fk.parse_gating_xml(io.BytesIO(tpl.xml))
        session = fk.Session(gating_strategy=gs, fcs_samples=[fk.Sample(str(f), subsample=0)])
        session.analyze_samples(use_mp=False)
        return session.get_analysis_report()

    return one


def run_ours(tpl: flow.Template):  # noqa: ANN201
    def one(f: Path) -> pd.DataFrame:
        s = flow.read_fcs(f)
        return flow.apply_gates(s, tpl, compensation=spill_from_sample(s, file=str(f)), file=str(f))

    return one


def _worker_cpu() -> float:
    import psutil

    t = psutil.Process().cpu_times()
    return t.user + t.system


def run_dask(files: list[Path], tpl: flow.Template, n_workers: int) -> tuple[float, float]:
    """Wall time of the batch, and the CPU cores its workers actually got (CPU s / wall s)."""
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, Client(cluster) as client:
        client.wait_for_workers(n_workers)  # warm every worker: imports + one file each
        client.run(lambda: __import__("immunome.assays.flow"))
        process_batch(files[:n_workers], template=tpl, scheduler=cluster.scheduler_address)
        cpu0 = sum(client.run(_worker_cpu).values())
        t = time.perf_counter()
        res = process_batch(files, template=tpl, scheduler=cluster.scheduler_address)
        dt = time.perf_counter() - t
        cpu = sum(client.run(_worker_cpu).values()) - cpu0
    if res.failures:
        raise SystemExit(f"dask run failed: {res.failures[:3]}")
    return dt, cpu / dt


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000, help="total events (default 10M)")
    ap.add_argument("--fcs", type=Path, default=_default_fcs())
    ap.add_argument("--template", default="tcell-memory-100715")
    ap.add_argument("--skip-dask", action="store_true")
    a = ap.parse_args(argv)
    tpl = flow.load_template(a.template)
    n_files = math.ceil(a.events / N_EVENTS_100715)
    total = n_files * N_EVENTS_100715
    out: dict = {
        "benchmark": "flow",
        "files": n_files,
        "events": total,
        "template": tpl.name,
        "cpu_count": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        files = _copies(a.fcs, n_files, Path(tmp))
        fk_t, fk_rep = _timed(run_flowkit(tpl), files)
        our_t, our_res = _timed(run_ours(tpl), files)
        full_t, _ = _timed(lambda f: flow.process_fcs(f, template=tpl), files)
        fk_counts = dict(zip(fk_rep["gate_name"], fk_rep["count"], strict=True))
        our_counts = dict(
            zip(our_res.populations["population"], our_res.populations["count"], strict=True)
        )
        out["counts_equal_flowkit"] = all(fk_counts[k] == v for k, v in our_counts.items())
        out["events_per_s"] = {
            "flowkit_session": total / fk_t,
            "immunome_gate": total / our_t,
            "immunome_full": total / full_t,
        }
        out["ratio_vs_flowkit"] = fk_t / our_t
        out["ratio_full_vs_flowkit"] = fk_t / full_t
        if not a.skip_dask:
            d1, cores1 = run_dask(files, tpl, 1)
            d2, cores2 = run_dask(files, tpl, 2)
            out["events_per_s"].update({"dask_1": total / d1, "dask_2": total / d2})
            out["dask_speedup_2_vs_1"] = d1 / d2
            # CPU the workers actually got: on a loaded machine 2 workers may not get 2 cores
            out["dask_cores_used"] = {"dask_1": cores1, "dask_2": cores2}
    out["loadavg_end"] = os.getloadavg()
    out["targets"] = {"ratio_vs_flowkit": 1.0, "dask_speedup_2_vs_1": 1.6}
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return out


if __name__ == "__main__":
    main()
