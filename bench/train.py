"""Benchmark: training time and peak memory of the immune-age model on a synthetic cohort.

100k participants × 50 features (defaults), 2 threads. Each measurement runs in a fresh
subprocess so its peak RSS is its own. Prints JSON with the ratio to a named reference
(plain ridge on the same matrix, measured in the same run).

    python bench/train.py [--n 100000] [--p 50]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

RATIO_COLS = [
    "naive_cd8_t_cell",
    "cd8_t_cell",
    "naive_cd4_t_cell",
    "cd4_t_cell",
    "t_cell",
    "lymphocyte",
]


def synthetic(n: int, p: int, seed: int = 0):
    """Age-dependent log-normal % features; the first six carry protocol ids so ratios are derived."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 90, n)
    load = rng.normal(0, 0.02, p)
    X = np.exp(1.5 + np.outer(age, load) + rng.normal(0, 0.3, (n, p)))
    cols = RATIO_COLS + [f"feature_{i:02d}" for i in range(p - len(RATIO_COLS))]
    X = pd.DataFrame(X, columns=cols)
    X.iloc[rng.random((n, p)) < 0.01] = np.nan  # 1% missing cells
    return X, age


def _run(kind: str, n: int, p: int, q: mp.Queue) -> None:
    from immunome.models import fit_model
    from immunome.models._immune_age import CANDIDATES, default_derived

    X, y = synthetic(n, p)
    t0 = time.perf_counter()
    if kind == "reference_ridge":
        fit_model(X, y, spec={"kind": "ridge", "alpha": 1.0}, name="ref", transform="log1p")
    else:
        fit_model(
            X,
            y,
            spec=CANDIDATES[kind],
            name="immune-age",
            imputation="native",
            derived=default_derived(list(X.columns)),
        )
    seconds = time.perf_counter() - t0
    q.put(
        {
            "seconds": round(seconds, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    )


def measure(kind: str, n: int, p: int) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_run, args=(kind, n, p, q))
    proc.start()
    res = q.get()
    proc.join()
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--p", type=int, default=50)
    ap.add_argument(
        "--model",
        default="ridge+svr",
        help="immune-age candidate to train (default: the chosen one)",
    )
    a = ap.parse_args(argv)
    ref = measure("reference_ridge", a.n, a.p)
    model = measure(a.model, a.n, a.p)
    out = {
        "benchmark": "immune-age training",
        "n_participants": a.n,
        "n_features": a.p,
        "model": a.model,
        "reference": "plain ridge on log features (same data, same run)",
        "model_seconds": model["seconds"],
        "model_peak_rss_mb": model["peak_rss_mb"],
        "reference_seconds": ref["seconds"],
        "reference_peak_rss_mb": ref["peak_rss_mb"],
        "time_ratio_to_reference": round(model["seconds"] / max(ref["seconds"], 1e-9), 2),
        "memory_ratio_to_reference": round(model["peak_rss_mb"] / max(ref["peak_rss_mb"], 1e-9), 2),
        "targets": {"seconds": 60, "peak_rss_mb": 4096},
        "meets_targets": model["seconds"] < 60 and model["peak_rss_mb"] < 4096,
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
