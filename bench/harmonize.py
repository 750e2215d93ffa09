"""Benchmark: our vectorised ComBat (fit + apply, frozen-capable) vs inmoose's pycombat_norm.

Prints JSON. Reference = ``inmoose.pycombat.pycombat_norm`` on the same matrix in the same run;
``ratio`` = ours / reference wall time (best of ``--repeat``). Also reports the 10KIP CyTOF
before/after metrics next to 10KIP's own normalisation (needs IMMUNOME_DATA or ../shared/data).

Usage: python bench/harmonize.py [--repeat 3] [--samples 2000 --features 200]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.simplefilter("ignore")


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _synthetic(n: int, p: int, sites: int = 8) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(0)
    site = pd.Series([f"S{i % sites}" for i in range(n)])
    age = rng.uniform(20, 80, n)
    sex = rng.choice(["Female", "Male"], n)
    shift = rng.normal(0, 1, (sites, p))[site.str[1:].astype(int)]
    X = pd.DataFrame(rng.normal(0, 1, (n, p)) + shift + 0.03 * age[:, None])
    X.columns = [f"f{j}" for j in range(p)]
    return X, site, pd.DataFrame({"age": age, "sex": sex})


def speed(X: pd.DataFrame, site: pd.Series, cov: pd.DataFrame, repeat: int) -> dict:
    from inmoose.pycombat import pycombat_norm

    from immunome.harmonize import combat

    ours = _best(lambda: combat(X, site, cov), repeat)
    ref = _best(lambda: pycombat_norm(X.T, site.tolist(), covar_mod=cov), repeat)
    return {
        "shape": list(X.shape),
        "ours_s": ours,
        "reference": "inmoose.pycombat_norm",
        "reference_s": ref,
        "ratio": ours / ref,
    }


def tenkip(root: Path) -> dict:
    from immunome.harmonize import build_report, harmonize_frame

    def load(name: str) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
        d = pd.read_csv(root / "10kip/CyTOF_PBMC" / name).set_index("subject_accession")
        return (
            d.iloc[:, 4:],
            d.study_accession,
            d[["age", "gender"]].rename(columns={"gender": "sex"}),
        )

    X, site, cov = load("cytof_pbmc_formatted.csv")
    N, _, _ = load("cytof_pbmc_normalized.csv")
    t = time.perf_counter()
    h = harmonize_frame(X, site, cov, scale="logit")
    fit_s = time.perf_counter() - t
    out = Path(os.environ.get("TMPDIR", "/tmp")) / "immunome-bench-harmonize"
    rep = build_report(
        {"formatted": X, "harmonized": h.data, "10kip_normalized": N},
        site,
        cov,
        out=out,
        scale="logit",
    )
    keys = ("median_site_ve", "median_biology_ve", "silhouette")
    return {
        "fit_apply_s": fit_s,
        "layers": {
            n: {**{k: m[k] for k in keys}, "loso_age_mae": m["loso_age_mae"]["mae"]}
            for n, m in rep.layers.items()
        },
        "comparison": {
            n: {k: v for k, v in c.items() if k != "meets"} for n, c in rep.comparison.items()
        },
        "report": str(out / "report.md"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--features", type=int, default=200)
    a = ap.parse_args()
    result = {
        "bench": "harmonize",
        "synthetic": speed(*_synthetic(a.samples, a.features), a.repeat),
    }
    root = Path(
        os.environ.get("IMMUNOME_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    if (root / "10kip/CyTOF_PBMC/cytof_pbmc_formatted.csv").exists():
        result["10kip_cytof"] = tenkip(root)
    print(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
