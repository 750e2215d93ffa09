"""Benchmark the REST API on loopback: p50/p95 latency and throughput of the cohort summary and
of predictions at 1, 10 and 50 concurrent clients, against ``/api/v1/health`` measured in the
same run (the named reference: same server, same middleware, no work).

Run:  python bench/serve.py [--requests 300] [--participants 600]
Prints one JSON document. ``ratio_p95_vs_health`` = endpoint p95 / health p95 at the same
concurrency. Target (issue 5): summary p95 < 100 ms at 50 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

FEATURES = ["T_cells", "CD4_T_cells", "B_cells", "NK_cells", "Monocytes"]
RACES = ["White", "Asian", "Black or African American", "More Than One Race"]


def write_bundle(root: Path, *, site: str, n: int, seed: int) -> Path:
    """A synthetic, valid bundle: ``n`` participants with baseline CyTOF."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    (root / "manifest.yaml").write_text(
        f"format: immunome-bundle/1\nsite: {site}\nprotocol: global-immunome-study\n"
        "protocol_version: 1\nparticipants: participants.csv\nsamples: samples.csv\n"
        "assays:\n  - file: cytof_pbmc.csv\n    assay: cytof_pbmc\n    layout: wide\n"
    )
    p, s, c = ["participant_id,age,sex,race"], ["sample_id,participant_id,day,visit"], []
    c.append("sample_id," + ",".join(FEATURES))
    for i in range(n):
        pid = f"{site}-{i:04d}"
        age = rng.uniform(18, 85)
        p.append(f"{pid},{age:.0f},{rng.choice(['female', 'male'])},{RACES[i % len(RACES)]}")
        s.append(f"{pid}-D0,{pid},0,baseline")
        t = rng.uniform(40, 70) - age / 10
        c.append(
            f"{pid}-D0,"
            + ",".join(
                f"{v:.2f}"
                for v in (t, t * 0.6, rng.uniform(5, 15), rng.uniform(5, 20), rng.uniform(10, 30))
            )
        )
    for name, rows in (("participants", p), ("samples", s), ("cytof_pbmc", c)):
        (root / f"{name}.csv").write_text("\n".join(rows) + "\n")
    return root


def build_store(root: Path, *, participants: int) -> tuple[Path, str | None]:
    """Store with 5 sites, one release, and (when the models module allows) one trained model."""
    import immunome

    store = immunome.open(root / "store")
    for i in range(5):
        store.submit(write_bundle(root / f"b{i}", site=f"SITE{i}", n=participants // 5, seed=i))
    store.create_release()
    return root / "store", train_model(root / "store")


def train_model(store_path: Path) -> str | None:
    """Train and save a small immune-age model through the public ``immunome.models`` API."""
    import immunome
    from immunome.models import save_model, train

    spec = {
        "task": "immune_age",
        "name": "bench-age",
        "candidates": {"ridge": {"kind": "ridge", "alpha": 1.0}},
    }
    [model] = train(immunome.open(store_path).release("latest"), spec=spec)
    save_model(model, store_path)
    return model.name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _request(reader, writer, raw: bytes) -> int:
    """Send one pre-built HTTP/1.1 request on a keep-alive connection; return the status."""
    writer.write(raw)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


def build_request(method: str, url: str, body: bytes | None = None) -> tuple[str, int, bytes]:
    """Pre-serialise a request so the client spends (almost) no CPU per request."""
    u = httpx.URL(url)
    target = u.raw_path.decode()
    lines = [f"{method} {target} HTTP/1.1", f"Host: {u.host}:{u.port}", "Connection: keep-alive"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
    return u.host, u.port, raw


async def load(url: str, *, method: str, n: int, conc: int, body: bytes | None = None) -> dict:
    """``n`` requests from ``conc`` concurrent keep-alive clients: latency percentiles, throughput.

    The client is a minimal asyncio HTTP/1.1 client (pre-built requests) so that, on a small
    machine, the measurement is dominated by the server rather than by the load generator.
    """
    host, port, raw = build_request(method, url, body)
    lat: list[float] = []
    errors = 0
    todo = iter(range(n))

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for _ in todo:
                t0 = time.perf_counter()
                status = await _request(reader, writer, raw)
                lat.append(time.perf_counter() - t0)
                errors += status >= 400
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    wall = time.perf_counter() - t0
    ms = np.array(lat) * 1000
    return {
        "n": n,
        "errors": int(errors),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "rps": round(n / wall, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=300, help="requests per endpoint and level")
    ap.add_argument("--participants", type=int, default=600)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store, model = build_store(Path(tmp), participants=args.participants)
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "immunome",
                "serve",
                "--store",
                str(store),
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ},
        )
        base = f"http://127.0.0.1:{port}/api/v1"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            targets = {
                "health": ("GET", f"{base}/health", {}),
                "summary": ("GET", f"{base}/releases/latest/summary?by=site&by=sex", {}),
            }
            if model:
                rows = [
                    {
                        "participant_id": f"X{i}",
                        "t_cell": 50.0 + i,
                        "cd4_t_cell": 30.0,
                        "b_cell": 9.0,
                        "nk_cell": 12.0,
                        "monocyte": 18.0,
                    }
                    for i in range(10)
                ]
                body = json.dumps({"rows": rows}).encode()
                targets["predict"] = ("POST", f"{base}/models/{model}/predict", {"body": body})
            for m, url, kw in targets.values():  # warm caches
                httpx.request(
                    m, url, content=kw.get("body"), headers={"content-type": "application/json"}
                )
            out: dict = {
                "reference": "health",
                "requests_per_level": args.requests,
                "participants": args.participants,
                "workers": args.workers,
                "model": model,
                "cpus": os.cpu_count(),
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "levels": {},
            }
            for conc in (1, 10, 50):
                level = {
                    name: asyncio.run(load(url, method=m, n=args.requests, conc=conc, **kw))
                    for name, (m, url, kw) in targets.items()
                }
                for name in level:
                    if name != "health":
                        level[name]["ratio_p95_vs_health"] = round(
                            level[name]["p95_ms"] / level["health"]["p95_ms"], 2
                        )
                out["levels"][str(conc)] = level
            out["summary_p95_ms_at_50"] = out["levels"]["50"]["summary"]["p95_ms"]
            out["target_met"] = out["summary_p95_ms_at_50"] < 100
            print(json.dumps(out, indent=2))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
