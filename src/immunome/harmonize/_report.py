"""Before/after diagnostics of one assay over several layers, as Markdown + images + JSON.

The first layer is the baseline (e.g. ``normalized``); each other layer (``harmonized``, or an
external reference such as 10KIP's own ``*_normalized.csv``) is compared with it:

* ``site_ve_drop`` = 1 − median site-R²(layer) / median site-R²(baseline) (goal ≥ 0.5);
* ``biology_kept`` = median age+sex R²(layer) / median age+sex R²(baseline) (goal ≥ 0.8);
* ``mae_ratio`` = leave-one-site-out MAE of a ridge age model, layer / baseline (goal ≤ 1).

Example:
    >>> import numpy as np, pandas as pd, tempfile
    >>> rng = np.random.default_rng(0)
    >>> site = pd.Series(["A"] * 30 + ["B"] * 30, index=[f"s{i}" for i in range(60)])
    >>> cov = pd.DataFrame({"age": rng.uniform(20, 80, 60)}, index=site.index)
    >>> raw = pd.DataFrame({"f": cov.age / 20 + rng.normal(size=60) + (site == "B") * 2,
    ...                     "g": rng.normal(size=60)}, index=site.index)
    >>> rep = build_report({"raw": raw, "same": raw}, site, cov, out=tempfile.mkdtemp())
    >>> rep.comparison["same"]["site_ve_drop"]
    0.0
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from immunome.harmonize._confounding import detect_confounding
from immunome.harmonize._flags import Flag
from immunome.harmonize._metrics import loso_age_mae, pca_silhouette, variance_explained
from immunome.harmonize._plots import plot_distributions, plot_pca, plot_variance
from immunome.harmonize._scales import ScaleSpec, resolve_scales, to_scale

REPORT_FORMAT = "immunome-harmonize-report/1"
GOALS = {"site_ve_drop": 0.5, "biology_kept": 0.8, "mae_ratio": 1.0}


@dataclass
class Report:
    """Diagnostics per layer, comparisons with the baseline, and the files written."""

    title: str
    layers: dict[str, dict[str, Any]]
    comparison: dict[str, dict[str, Any]]
    confounding: list[dict[str, Any]] = field(default_factory=list)
    affected: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    scales: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        return _clean(
            {
                "format": REPORT_FORMAT,
                "title": self.title,
                "goals": GOALS,
                "scales": self.scales,
                "layers": self.layers,
                "comparison": self.comparison,
                "confounding": self.confounding,
                "affected_features": self.affected,
                "flags": self.flags,
                "files": self.files,
            }
        )


def layer_metrics(
    Z: pd.DataFrame, site: pd.Series, covariates: pd.DataFrame, *, age: str = "age"
) -> dict[str, Any]:
    """Per-feature variance explained, medians, PCA silhouette and LOSO ridge age MAE.

    ``Z`` is on the correction scale; ``site``/``covariates`` may index a superset of rows.
    """
    s = site.loc[Z.index]
    c = covariates.loc[Z.index]
    ve = variance_explained(Z, s, c)
    mae = loso_age_mae(Z, s, c[age]) if age in c.columns else {"mae": math.nan}
    return {
        "n_samples": int(len(Z)),
        "n_features": int(Z.shape[1]),
        "sites": {str(k): int(v) for k, v in s.astype(str).value_counts().sort_index().items()},
        "median_site_ve": float(ve["site"].median()),
        "median_biology_ve": float(ve["biology"].median()),
        "median_biology_given_site_ve": float(ve["biology_given_site"].median()),
        "silhouette": pca_silhouette(Z, s),
        "loso_age_mae": mae,
        "per_feature": {
            str(f): {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
            for f, row in ve.iterrows()
        },
    }


def compare(base: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    """Ratios of ``other`` to ``base`` and whether each goal is met."""

    def ratio(a: float, b: float) -> float:
        return a / b if b and math.isfinite(a) and math.isfinite(b) else math.nan

    drop = 1 - ratio(other["median_site_ve"], base["median_site_ve"])
    kept = ratio(other["median_biology_ve"], base["median_biology_ve"])
    mae = ratio(other["loso_age_mae"]["mae"], base["loso_age_mae"]["mae"])
    return {
        "site_ve_drop": drop,
        "biology_kept": kept,
        "biology_given_site_kept": ratio(
            other["median_biology_given_site_ve"], base["median_biology_given_site_ve"]
        ),
        "mae_ratio": mae,
        "silhouette_change": other["silhouette"] - base["silhouette"],
        "meets": {
            "site_ve_drop": bool(drop >= GOALS["site_ve_drop"]),
            "biology_kept": bool(kept >= GOALS["biology_kept"]),
            "mae_ratio": bool(mae <= GOALS["mae_ratio"]),
        },
    }


def build_report(
    layers: Mapping[str, pd.DataFrame],
    site: pd.Series,
    covariates: pd.DataFrame,
    *,
    out: str | Path,
    title: str = "Cross-site harmonisation report",
    scale: Any = "linear",
    upper: Any = 100.0,
    flags: Sequence[Flag] = (),
    affected: pd.DataFrame | None = None,
    n_plot_features: int = 4,
) -> Report:
    """Compute metrics for every layer (first = baseline) and write report.md/.json + figures."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = list(layers)
    base_X = layers[names[0]]
    scales = resolve_scales(base_X, scale, upper=upper)
    Zs = {n: to_scale(X, _scales_for(X, scales)) for n, X in layers.items()}
    metrics = {n: layer_metrics(Z, site, covariates) for n, Z in Zs.items()}
    comparison = {n: compare(metrics[names[0]], metrics[n]) for n in names[1:]}
    conf = detect_confounding(site.loc[base_X.index], covariates.loc[base_X.index])
    top = (
        pd.Series({f: v["site"] for f, v in metrics[names[0]]["per_feature"].items()})
        .dropna()
        .sort_values(ascending=False)
        .index[:n_plot_features]
        .tolist()
    )
    files: list[Path] = []
    if top:
        files += plot_distributions(Zs, site, top, out)
    files += plot_pca(Zs, site, out)
    ve = pd.DataFrame(
        {n: {f: v["site"] for f, v in m["per_feature"].items()} for n, m in metrics.items()}
    )
    files += plot_variance(ve, out)
    rep = Report(
        title=title,
        layers=metrics,
        comparison=comparison,
        confounding=conf.to_dict(orient="records"),
        affected=[]
        if affected is None or not len(affected)
        else affected[affected["affected"]].to_dict(orient="records"),
        flags=[f.to_dict() for f in flags],
        files=[p.name for p in files] + ["report.md", "report.json"],
        scales={f: s.kind for f, s in scales.items()},
    )
    (out / "report.json").write_text(
        json.dumps(rep.to_dict(), indent=1, sort_keys=True, allow_nan=False)
    )
    (out / "report.md").write_text(render_markdown(rep))
    return rep


def _scales_for(X: pd.DataFrame, scales: Mapping[str, ScaleSpec]) -> dict[str, ScaleSpec]:
    return {c: scales.get(c, ScaleSpec()) for c in X.columns}


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.1%}" if pct else f"{v:.4g}"


def render_markdown(rep: Report) -> str:
    """The report as Markdown (tables + image links)."""
    names = list(rep.layers)
    lines = [f"# {rep.title}", ""]
    lines += [
        "Metrics on the correction scale "
        f"({', '.join(sorted(set(rep.scales.values())))}); baseline = `{names[0]}`. "
        "Site R²: partial R² of site with age and sex in the model; biology R²: R² of "
        "age + sex; LOSO MAE: leave-one-site-out ridge age model (years).",
        "",
        "| metric | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    rows = [
        ("samples", "n_samples", False),
        ("median site R²", "median_site_ve", False),
        ("median age+sex R²", "median_biology_ve", False),
        ("median age+sex R² given site", "median_biology_given_site_ve", False),
        ("PCA silhouette by site", "silhouette", False),
    ]
    for label, key, pct in rows:
        lines.append(
            f"| {label} | " + " | ".join(_fmt(rep.layers[n][key], pct) for n in names) + " |"
        )
    lines.append(
        "| LOSO age MAE | "
        + " | ".join(_fmt(rep.layers[n]["loso_age_mae"]["mae"]) for n in names)
        + " |"
    )
    lines += [
        "",
        "## Compared with the baseline",
        "",
        "| layer | site R² drop (≥ 50%) | age+sex R² kept (≥ 80%) | MAE ratio (≤ 1) |",
        "|---|---|---|---|",
    ]
    for n, c in rep.comparison.items():
        ok = c["meets"]
        lines.append(
            f"| `{n}` | {_fmt(c['site_ve_drop'], True)} {'✓' if ok['site_ve_drop'] else '✗'} | "
            f"{_fmt(c['biology_kept'], True)} {'✓' if ok['biology_kept'] else '✗'} | "
            f"{_fmt(c['mae_ratio'])} {'✓' if ok['mae_ratio'] else '✗'} |"
        )
    lines += ["", "## Confounding of site with protected covariates", ""]
    bad = [c for c in rep.confounding if c["confounded"]]
    if not bad:
        lines.append("No site is strongly confounded with a protected covariate.")
    for c in bad:
        feats = [a["feature"] for a in rep.affected if a["site"] == c["site"]]
        lines.append(f"- **{c['site']}** ({c['covariate']}): {c['detail']}.")
        if feats:
            lines.append(
                f"  Affected features (correction relies on the covariate model): "
                f"{', '.join(feats)}."
            )
    if rep.flags:
        lines += ["", "## Flags (left uncorrected or corrected with caveats)", ""]
        lines += [
            f"- [{f['rule']}] {'/'.join(x for x in (f['site'], f['feature']) if x) or '-'}"
            f": {f['message']}"
            for f in rep.flags
        ]
    lines += ["", "## Figures", ""]
    lines += [f"![{p}]({p})" for p in rep.files if p.endswith(".png")]
    lines += [
        "",
        "## Per feature: site R²",
        "",
        "| feature | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for f in rep.layers[names[0]]["per_feature"]:
        lines.append(
            f"| {f} | "
            + " | ".join(_fmt(rep.layers[n]["per_feature"].get(f, {}).get("site")) for n in names)
            + " |"
        )
    return "\n".join(lines) + "\n"


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item"):
        return _clean(obj.item())
    return obj
