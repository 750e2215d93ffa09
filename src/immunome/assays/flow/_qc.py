"""Per-file quality control of flow cytometry data.

Metrics (each a row ``metric, value, flag`` with flag ``pass``/``warn``/``fail``):

* ``event_count`` — total events; few events make frequencies noisy.
* ``margin_fraction`` — events at the top of any channel's range (``$PnR``, saturated).
* ``negative_scatter_fraction`` — events with FSC or SSC ≤ 0 (electronic noise/debris).
* ``time_unstable_bin_fraction`` — acquisition split into bins along the Time channel (event
  order when there is none); a bin is unstable when any fluorescence channel's median drifts
  from the whole-file median by more than ``drift_threshold`` robust SDs (flowAI/PeacoQC idea).
* ``flow_rate_cv`` — coefficient of variation of events per time bin (needs a Time channel).
* ``spill_diagonal_max_dev``, ``spill_offdiagonal_max``, ``spill_channels_matched`` —
  spillover-matrix sanity: unit diagonal, plausible coefficients, channel names match the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import flowkit as fk
import numpy as np
import pandas as pd

from immunome.assays.flow._comp import Compensation

QC_COLUMNS = ["sample_id", "metric", "value", "flag"]


@dataclass(frozen=True)
class QcThresholds:
    """Thresholds turning QC values into ``warn``/``fail`` flags.

    Example:
        >>> QcThresholds().min_events
        1000
    """

    min_events: int = 1000
    warn_events: int = 10000
    margin_warn: float = 0.02
    margin_fail: float = 0.10
    negative_scatter_warn: float = 0.01
    negative_scatter_fail: float = 0.05
    n_time_bins: int = 20
    drift_threshold: float = 0.75
    unstable_warn: float = 0.10
    unstable_fail: float = 0.30
    flow_rate_cv_warn: float = 0.30
    spill_diag_tolerance: float = 1e-6
    spill_offdiag_warn: float = 1.0


def _flag(value: float, warn: float, fail: float | None = None) -> str:
    if fail is not None and value > fail:
        return "fail"
    return "warn" if value > warn else "pass"


def _ranges(sample: fk.Sample) -> np.ndarray:
    r = []
    for i in range(len(sample.pnn_labels)):
        try:
            r.append(float(sample.metadata.get(f"p{i + 1}r", "nan")))
        except ValueError:
            r.append(np.nan)
    return np.asarray(r)


def margin_fraction(sample: fk.Sample, raw: np.ndarray) -> float:
    """Fraction of events at or above ``$PnR - 1`` in any scatter/fluorescence channel."""
    idx = [i for i in (*sample.scatter_indices, *sample.fluoro_indices)]
    rng = _ranges(sample)[idx]
    ok = np.isfinite(rng)
    if not ok.any() or raw.shape[0] == 0:
        return 0.0
    sub = raw[:, np.asarray(idx)[ok]]
    return float(np.mean(np.any(sub >= rng[ok] - 1, axis=1)))


def negative_scatter_fraction(sample: fk.Sample, raw: np.ndarray) -> float:
    """Fraction of events with any FSC/SSC value ≤ 0."""
    if not sample.scatter_indices or raw.shape[0] == 0:
        return 0.0
    return float(np.mean(np.any(raw[:, sample.scatter_indices] <= 0, axis=1)))


def _bins(sample: fk.Sample, raw: np.ndarray, n_bins: int) -> tuple[np.ndarray, bool]:
    n = raw.shape[0]
    if sample.time_index is not None:
        order = np.argsort(raw[:, sample.time_index], kind="stable")
        t = raw[order, sample.time_index]
        edges = np.linspace(t[0], t[-1], n_bins + 1) if n else np.zeros(n_bins + 1)
        labels = np.empty(n, dtype=int)
        labels[order] = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, n_bins - 1)
        return labels, True
    return (np.arange(n) * n_bins) // max(n, 1), False


_NOT_MEASURED = re.compile(r"(?i)(^|[_ -])(id|index|event|eventnum|event_?count)$")


def measurement_channels(sample: fk.Sample) -> list[int]:
    """Fluorescence channels that hold measurements (not event ids such as ``Original_ID``)."""
    return [i for i in sample.fluoro_indices if not _NOT_MEASURED.search(sample.pnn_labels[i])]


def time_stability(sample: fk.Sample, raw: np.ndarray, *, th: QcThresholds) -> dict[str, float]:
    """Unstable-bin fraction (median drift), flow-rate CV, and whether a Time channel exists."""
    n = raw.shape[0]
    labels, has_time = _bins(sample, raw, th.n_time_bins)
    out = {"time_channel_present": float(has_time)}
    if n < th.n_time_bins * 10:
        out["time_unstable_bin_fraction"] = 0.0
        return out
    chans = measurement_channels(sample)
    if not chans:
        out["time_unstable_bin_fraction"] = 0.0
        return out
    order = np.argsort(labels, kind="stable")
    x = np.arcsinh(raw[order][:, chans].T / 150.0)  # channels x events, grouped by bin
    med = np.median(x, axis=1)
    mad = np.median(np.abs(x - med[:, None]), axis=1) * 1.4826
    mad[mad == 0] = 1.0
    counts = np.bincount(labels, minlength=th.n_time_bins)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    unstable = filled = 0
    for b in range(th.n_time_bins):
        if counts[b] < 50:
            continue
        filled += 1
        drift = np.abs(np.median(x[:, bounds[b] : bounds[b + 1]], axis=1) - med) / mad
        unstable += int(np.any(drift > th.drift_threshold))
    out["time_unstable_bin_fraction"] = unstable / max(filled, 1)
    if has_time:
        c = counts[counts > 0].astype(float)
        out["flow_rate_cv"] = float(np.std(c) / np.mean(c)) if c.size else 0.0
    return out


def spill_sanity(comp: Compensation | None, sample: fk.Sample) -> dict[str, float]:
    """Spillover sanity: unit diagonal, largest coefficient, channel names found in the file."""
    if comp is None:
        return {"spill_present": 0.0}
    fluoro = {sample.pnn_labels[i] for i in sample.fluoro_indices}
    matched = sum(c in fluoro for c in comp.channels) / max(len(comp.channels), 1)
    return {
        "spill_present": 1.0,
        "spill_diagonal_max_dev": comp.diagonal_max_deviation(),
        "spill_offdiagonal_max": comp.offdiagonal_max(),
        "spill_channels_matched": float(matched),
    }


def _flags(metrics: dict[str, float], th: QcThresholds) -> dict[str, str]:
    rules = {
        "event_count": lambda v: (
            "fail" if v < th.min_events else "warn" if v < th.warn_events else "pass"
        ),
        "margin_fraction": lambda v: _flag(v, th.margin_warn, th.margin_fail),
        "negative_scatter_fraction": lambda v: _flag(
            v, th.negative_scatter_warn, th.negative_scatter_fail
        ),
        "time_unstable_bin_fraction": lambda v: _flag(v, th.unstable_warn, th.unstable_fail),
        "flow_rate_cv": lambda v: _flag(v, th.flow_rate_cv_warn),
        "spill_diagonal_max_dev": lambda v: "fail" if v > th.spill_diag_tolerance else "pass",
        "spill_offdiagonal_max": lambda v: _flag(v, th.spill_offdiag_warn),
        "spill_channels_matched": lambda v: "pass" if v == 1.0 else "fail",
    }
    return {k: rules[k](v) if k in rules else "pass" for k, v in metrics.items()}


def qc_table(
    sample: fk.Sample, comp: Compensation | None, *, thresholds: QcThresholds | None = None
) -> pd.DataFrame:
    """All QC metrics of one file as rows ``sample_id, metric, value, flag``.

    Example:
        >>> qc_table(read_fcs("OMIP021_Donor1.fcs"), None)  # doctest: +SKIP
    """
    th = thresholds or QcThresholds()
    raw = sample.get_events(source="raw")
    metrics: dict[str, float] = {
        "event_count": float(sample.event_count),
        "margin_fraction": margin_fraction(sample, raw),
        "negative_scatter_fraction": negative_scatter_fraction(sample, raw),
    }
    metrics.update(time_stability(sample, raw, th=th))
    metrics.update(spill_sanity(comp, sample))
    flags = _flags(metrics, th)
    rows = [(sample.id, k, float(v), flags[k]) for k, v in metrics.items()]
    return pd.DataFrame(rows, columns=QC_COLUMNS)
