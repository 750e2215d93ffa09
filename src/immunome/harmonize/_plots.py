"""Diagnostic figures (matplotlib, Agg backend): per-site distributions, PCA, variance explained.

Every figure is written as PNG and SVG; functions return the paths written.

Example:
    >>> import pandas as pd, tempfile, pathlib
    >>> Z = {"raw": pd.DataFrame({"f": [1.0, 2, 3, 4]})}
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> [p.suffix for p in plot_distributions(Z, pd.Series(list("AABB")), ["f"], out)]
    ['.png', '.svg']
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from immunome.harmonize._metrics import pca_coordinates  # noqa: E402


def _save(fig: plt.Figure, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.png", out / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=100)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def plot_distributions(
    layers: Mapping[str, pd.DataFrame],
    site: pd.Series,
    features: list[str],
    out: Path,
    *,
    stem: str = "site_distributions",
) -> list[Path]:
    """Boxplots of each feature per site (rows = features, columns = layers), correction scale."""
    names = list(layers)
    fig, axes = plt.subplots(
        len(features), len(names), figsize=(4.2 * len(names), 2.4 * len(features)), squeeze=False
    )
    for i, feat in enumerate(features):
        for j, name in enumerate(names):
            Z = layers[name]
            ax = axes[i][j]
            if feat not in Z.columns:
                ax.set_axis_off()
                continue
            s = site.loc[Z.index].astype(str)
            sites = sorted(set(s))
            data = [Z.loc[s == x, feat].dropna().to_numpy() for x in sites]
            ax.boxplot(data, showfliers=False)
            ax.set_xticks(range(1, len(sites) + 1), sites, rotation=60, fontsize=6)
            ax.tick_params(axis="y", labelsize=6)
            ax.set_title(f"{feat} — {name}", fontsize=8)
    fig.tight_layout()
    return _save(fig, out, stem)


def plot_pca(
    layers: Mapping[str, pd.DataFrame], site: pd.Series, out: Path, *, stem: str = "pca"
) -> list[Path]:
    """PC1 × PC2 per layer, coloured by site."""
    names = list(layers)
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 4), squeeze=False)
    for j, name in enumerate(names):
        Z = layers[name]
        ax = axes[0][j]
        try:
            pcs = pca_coordinates(Z)
        except ValueError:
            ax.set_axis_off()
            continue
        s = site.loc[Z.index].astype(str)
        for x in sorted(set(s)):
            m = (s == x).to_numpy()
            ax.scatter(pcs.iloc[m, 0], pcs.iloc[m, -1], s=6, alpha=0.6, label=x)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("PC1", fontsize=8)
        ax.set_ylabel("PC2", fontsize=8)
    axes[0][-1].legend(fontsize=6, markerscale=2, loc="best")
    fig.tight_layout()
    return _save(fig, out, stem)


def plot_variance(table: pd.DataFrame, out: Path, *, stem: str = "variance_by_site") -> list[Path]:
    """Bars of per-feature variance explained by site, one bar per layer (``table``: features ×
    layers)."""
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(table)), 3.5))
    table.plot.bar(ax=ax, width=0.8)
    ax.set_ylabel("variance explained by site (partial R²)", fontsize=8)
    ax.tick_params(axis="x", labelsize=6)
    fig.tight_layout()
    return _save(fig, out, stem)
