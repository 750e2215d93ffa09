"""Fixtures of the flow tests: small generated FCS files and sample sheets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from ._fcs import write_fcs

FCS_DIR = "flow/fcs"


@pytest.fixture
def synth_fcs(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``synth_fcs(name, n=2000, seed=0, drop=(), saturate=0.0, negative=0.0, drift=0.0)``.

    Channels FSC-A, FSC-H, SSC-A, FL1-A, FL2-A, Time (+ a $SPILL for FL1-A/FL2-A).
    """

    def make(
        name: str = "s.fcs",
        *,
        n: int = 2000,
        seed: int = 0,
        drop: Sequence[str] = (),
        saturate: float = 0.0,
        negative: float = 0.0,
        drift: float = 0.0,
    ) -> Path:
        rng = np.random.default_rng(seed)
        fsc = rng.normal(60000, 8000, n).clip(1000, None)
        cols = {
            "FSC-A": fsc,
            "FSC-H": fsc * rng.normal(0.95, 0.02, n),
            "SSC-A": rng.normal(20000, 4000, n).clip(100, None),
            "FL1-A": np.where(
                rng.random(n) < 0.4, rng.normal(20000, 3000, n), rng.normal(300, 200, n)
            ),
            "FL2-A": rng.normal(1000, 300, n),
            "Time": np.sort(rng.uniform(0, 1000, n)),
        }
        if drift:
            cols["FL2-A"] = cols["FL2-A"] * (1 + drift * np.linspace(0, 1, n))
        k_sat, k_neg = int(saturate * n), int(negative * n)
        if k_sat:
            cols["FL1-A"][:k_sat] = 262143.0
        if k_neg:
            cols["SSC-A"][n - k_neg :] = -50.0
        names = [c for c in cols if c not in drop]
        data = np.column_stack([cols[c] for c in names])
        spill = "2,FL1-A,FL2-A,1,0.1,0.05,1" if {"FL1-A", "FL2-A"} <= set(names) else None
        return write_fcs(tmp_path / name, data, names, spill=spill)

    return make


@pytest.fixture
def real_fcs(require_data) -> Callable[[str], Path]:
    """``real_fcs("100715.fcs")`` → path in the shared data (fails in CI if missing)."""
    return lambda name: require_data(f"{FCS_DIR}/{name}")
