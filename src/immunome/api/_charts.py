"""Tiny server-side SVG charts (no JavaScript): bars, box plots, histograms.

Example:
    >>> svg = bar_chart(["A", "B"], [10, None], title="by site")
    >>> svg.startswith("<svg") and "hidden" in svg
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np

W, ROW, PAD_L, PAD_R = 560, 22, 150, 70


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def bar_chart(
    labels: Sequence[str], values: Sequence[float | None], *, title: str, fmt: str = "{:g}"
) -> str:
    """Horizontal bars; ``None`` values are drawn as a hatched 'hidden (n<5)' stub."""
    shown = [v for v in values if v is not None]
    top = max(shown) if shown else 1.0
    top = top if top > 0 else 1.0
    scale = (W - PAD_L - PAD_R) / top
    body = [f'<text x="4" y="14" class="t">{escape(title)}</text>']
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        y = 24 + i * ROW
        body.append(
            f'<text x="{PAD_L - 6}" y="{y + 14}" text-anchor="end">{escape(str(lab))[:24]}</text>'
        )
        if v is None:
            body.append(
                f'<rect x="{PAD_L}" y="{y + 3}" width="30" height="{ROW - 6}" class="hidden"/>'
            )
            body.append(f'<text x="{PAD_L + 36}" y="{y + 14}" class="muted">hidden</text>')
        else:
            w = max(1.0, float(v) * scale)
            body.append(
                f'<rect x="{PAD_L}" y="{y + 3}" width="{w:.1f}" height="{ROW - 6}" class="bar"/>'
            )
            body.append(
                f'<text x="{PAD_L + w + 4:.1f}" y="{y + 14}">{escape(fmt.format(v))}</text>'
            )
    return _svg(W, 30 + ROW * max(1, len(labels)), body, title)


def box_chart(rows: Sequence[dict], *, label_key: str, title: str) -> str:
    """Quartile boxes with a median line per group (rows with ``q25/median/q75``; None = hidden)."""
    vals = [r[k] for r in rows for k in ("q25", "q75") if r.get(k) is not None]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    span = (hi - lo) or 1.0
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    sx = (W - PAD_L - PAD_R) / (hi - lo)
    body = [f'<text x="4" y="14" class="t">{escape(title)}</text>']
    for i, r in enumerate(rows):
        y = 24 + i * ROW
        body.append(
            f'<text x="{PAD_L - 6}" y="{y + 14}" text-anchor="end">{escape(str(r[label_key]))[:24]}</text>'
        )
        if r.get("median") is None:
            body.append(
                f'<text x="{PAD_L}" y="{y + 14}" class="muted">hidden (n&lt;5 or complement)</text>'
            )
            continue
        x1, x2, xm = ((r[k] - lo) * sx + PAD_L for k in ("q25", "q75", "median"))
        body.append(
            f'<rect x="{x1:.1f}" y="{y + 3}" width="{max(1.0, x2 - x1):.1f}" height="{ROW - 6}" class="box"/>'
        )
        body.append(
            f'<line x1="{xm:.1f}" x2="{xm:.1f}" y1="{y + 2}" y2="{y + ROW - 2}" class="med"/>'
        )
        body.append(f'<text x="{W - PAD_R + 4}" y="{y + 14}" class="muted">n={r["n"]}</text>')
    yb = 30 + ROW * max(1, len(rows))
    body.append(f'<text x="{PAD_L}" y="{yb + 10}" class="muted">{lo:.3g}</text>')
    body.append(
        f'<text x="{W - PAD_R}" y="{yb + 10}" text-anchor="end" class="muted">{hi:.3g}</text>'
    )
    return _svg(W, yb + 16, body, title)


def histogram(values: Sequence[float], *, title: str, bins: int = 20) -> str:
    """Vertical histogram of numeric values (used for prediction results)."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    height = 200
    body = [f'<text x="4" y="14" class="t">{escape(title)}</text>']
    if x.size == 0:
        body.append('<text x="10" y="40" class="muted">no numeric values</text>')
        return _svg(W, 60, body, title)
    counts, edges = np.histogram(x, bins=min(bins, max(1, x.size)))
    top = counts.max() or 1
    bw = (W - 60) / len(counts)
    for i, c in enumerate(counts):
        h = (height - 40) * c / top
        body.append(
            f'<rect x="{40 + i * bw:.1f}" y="{height - 20 - h:.1f}" width="{bw - 1:.1f}" height="{h:.1f}" class="bar"/>'
        )
    body.append(f'<text x="40" y="{height - 4}" class="muted">{edges[0]:.3g}</text>')
    body.append(
        f'<text x="{W - 20}" y="{height - 4}" text-anchor="end" class="muted">{edges[-1]:.3g}</text>'
    )
    body.append(f'<text x="4" y="30" class="muted">{int(top)}</text>')
    return _svg(W, height, body, title)
