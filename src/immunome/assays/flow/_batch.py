"""Batches of FCS files on Dask: parallel, resumable (content-hash cache), failure-tolerant."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from immunome.assays.flow._comp import Compensation
from immunome.assays.flow._process import FlowResult, process_fcs, resolve_compensation
from immunome.assays.flow._qc import QcThresholds
from immunome.assays.flow._read import file_sha256
from immunome.assays.flow._template import Template, load_template
from immunome.errors import FlowError

#: Bump when processing changes in a way that invalidates cached results.
CACHE_VERSION = "flow-cache/1"


@dataclass(frozen=True)
class BatchFailure:
    """One file that could not be processed, and why."""

    file: str
    error: str
    kind: str
    channel: str | None = None


@dataclass
class BatchResult:
    """Everything a batch produced: per-file results (in input order) and failures.

    Example:
        >>> res = process_batch(["a.fcs"], template="omip021", n_workers=0)  # doctest: +SKIP
        >>> res.ok, [f.file for f in res.failures]  # doctest: +SKIP
    """

    template: str
    results: list[FlowResult] = field(default_factory=list)
    failures: list[BatchFailure] = field(default_factory=list)
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every file was processed."""
        return not self.failures

    def populations(self) -> pd.DataFrame:
        """Tidy table of every processed file (``file`` column added)."""
        frames = [r.populations.assign(file=r.file) for r in self.results]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def qc(self) -> pd.DataFrame:
        """QC rows of every processed file."""
        frames = [r.qc.assign(file=r.file) for r in self.results]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def report(self) -> dict[str, Any]:
        """JSON-able summary: counts, per-file status and QC flags, failures with reasons."""
        return {
            "template": self.template,
            "spec": self.spec,
            "n_files": len(self.results) + len(self.failures),
            "n_ok": len(self.results),
            "n_cached": sum(r.cached for r in self.results),
            "n_failed": len(self.failures),
            "results": [
                {
                    "file": r.file,
                    "sample_id": r.sample_id,
                    "sha256": r.sha256,
                    "n_events": r.n_events,
                    "cached": r.cached,
                    "compensation": r.compensation,
                    "qc_flags": dict(zip(r.qc["metric"], r.qc["flag"], strict=True)),
                }
                for r in self.results
            ],
            "failures": [asdict(f) for f in self.failures],
        }

    def write_report(self, path: str | Path) -> Path:
        """Write :meth:`report` as JSON."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(self.report(), indent=2, default=str), encoding="utf-8")
        return p


def cache_key(file_hash: str, template: Template, comp: Compensation | None) -> str:
    """Cache key: file content + template content + compensation + cache version."""
    comp_part = comp.sha256() if comp is not None else "file-spill"
    raw = "\n".join([CACHE_VERSION, file_hash, template.sha256, comp_part])
    return hashlib.sha256(raw.encode()).hexdigest()


def _cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / key[:2] / f"{key}.json"


def _from_cache(path: Path, file: str, sample_id: str | None) -> FlowResult | None:
    try:
        res = FlowResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or damaged entry: recompute
    res.file, res.cached = file, True
    if sample_id and sample_id != res.sample_id:
        res.sample_id = sample_id
        res.populations["sample_id"] = sample_id
        res.qc["sample_id"] = sample_id
    return res


def _to_cache(path: Path, res: FlowResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(res.to_dict(), default=float), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a crash never leaves a half-written entry


def run_one(
    file: str,
    template: Template,
    comp: Compensation | None,
    sample_id: str | None,
    cache_dir: str | None,
) -> FlowResult | BatchFailure:
    """Process one file (the Dask task); never raises, returns a failure instead."""
    try:
        digest = file_sha256(file) if Path(file).is_file() else None
        cpath = None
        if cache_dir and digest:
            cpath = _cache_path(Path(cache_dir), cache_key(digest, template, comp))
            hit = _from_cache(cpath, file, sample_id) if cpath.is_file() else None
            if hit is not None:
                return hit
        res = process_fcs(file, template=template, comp=comp, sample_id=sample_id, sha256=digest)
        if cpath is not None:
            _to_cache(cpath, res)
        return res
    except FlowError as e:
        return BatchFailure(file, str(e), type(e).__name__, e.context.get("channel"))
    except Exception as e:  # a bug or an unforeseen input: report it, keep the batch going
        return BatchFailure(file, f"{file}: {type(e).__name__}: {e}", type(e).__name__)


def _progress(total: int, enabled: bool) -> tuple[Callable[[], None], Callable[[], None]]:
    if not enabled:
        return (lambda: None), (lambda: None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=False,
    )
    task = bar.add_task("FCS files", total=total)
    bar.start()
    return (lambda: bar.advance(task)), bar.stop


def _run_dask(
    jobs: list[tuple[Any, ...]], *, scheduler: str | None, n_workers: int, tick: Callable[[], None]
) -> list[FlowResult | BatchFailure]:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    try:
        client = Client(cluster if cluster is not None else scheduler, timeout="30s")
    except (OSError, TimeoutError) as e:
        if cluster is not None:
            cluster.close()
        raise FlowError(f"cannot connect to the Dask scheduler {scheduler!r}: {e}") from e
    try:
        futures = [client.submit(run_one, *job, pure=False) for job in jobs]
        index = {f.key: i for i, f in enumerate(futures)}
        out: list[Any] = [None] * len(jobs)
        for fut in as_completed(futures):
            try:
                out[index[fut.key]] = fut.result()
            except Exception as e:  # worker died: the file is a failure, not the batch
                f = jobs[index[fut.key]][0]
                out[index[fut.key]] = BatchFailure(f, f"{f}: worker failed: {e}", type(e).__name__)
            tick()
        return out
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def process_batch(
    files: Sequence[str | Path],
    *,
    template: Template | str | Path,
    comp: Compensation | str | Path | None = None,
    sample_ids: Sequence[str | None] | None = None,
    cache_dir: str | Path | None = None,
    scheduler: str | None = None,
    n_workers: int = 2,
    progress: bool = False,
) -> BatchResult:
    """Process many FCS files; one failing file never stops the batch.

    ``n_workers=0`` runs in this process (no Dask). Otherwise a Dask ``LocalCluster`` with
    ``n_workers`` single-threaded worker processes is started, or the scheduler at
    ``scheduler`` (e.g. ``tcp://host:8786``) is used. With ``cache_dir``, files already
    processed with the same content hash, template and compensation are not recomputed.

    Example:
        >>> res = process_batch(paths, template="omip021", cache_dir=".cache")  # doctest: +SKIP
        >>> res.write_report("flow-report.json")  # doctest: +SKIP
    """
    tpl = template if isinstance(template, Template) else load_template(template)
    matrix = resolve_compensation(comp)
    ids = list(sample_ids) if sample_ids is not None else [None] * len(files)
    if len(ids) != len(files):
        raise FlowError(f"{len(files)} files but {len(ids)} sample ids")
    cdir = str(cache_dir) if cache_dir is not None else None
    jobs = [(str(f), tpl, matrix, sid, cdir) for f, sid in zip(files, ids, strict=True)]
    tick, stop = _progress(len(jobs), progress)
    try:
        if n_workers == 0 and scheduler is None:
            outs = []
            for job in jobs:
                outs.append(run_one(*job))
                tick()
        else:
            outs = _run_dask(jobs, scheduler=scheduler, n_workers=max(n_workers, 1), tick=tick)
    finally:
        stop()
    spec = {
        "template": tpl.name,
        "template_path": tpl.path,
        "template_sha256": tpl.sha256,
        "assay": tpl.assay,
        "compensation": matrix.source if matrix is not None else "file $SPILLOVER/$SPILL",
        "cache_dir": cdir,
        "cache_version": CACHE_VERSION,
        "scheduler": scheduler or (f"LocalCluster({n_workers})" if n_workers else "in-process"),
        "qc_thresholds": asdict(QcThresholds()),
    }
    result = BatchResult(tpl.name, spec=spec)
    for o in outs:
        (result.failures if isinstance(o, BatchFailure) else result.results).append(o)
    return result
