"""Small-cell suppression for published count tables.

Primary suppression hides every cell with ``0 < n < k``. Complementary suppression then hides
more cells until no hidden cell can be recovered from the table *and every marginal table a
caller could request separately* (all marginals are assumed known to the attacker, which is the
conservative choice). The result is audited with linear programming: for each hidden cell the
attacker's feasible range ``[lo, hi]`` under ``cells >= 0`` and all published sums must not be a
point, and for a primary cell must reach ``min(k, smallest line total)`` so the attacker cannot
even prove that the cell is small.

Example:
    >>> import pandas as pd
    >>> t = pd.DataFrame({"site": ["A", "A", "B", "B"], "sex": ["f", "m", "f", "m"], "n": [3, 40, 20, 30]})
    >>> out = suppress(t, dims=["site", "sex"], k=5)
    >>> int(out["suppressed"].sum()) >= 4
    True
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

K_MIN = 5


@dataclass(frozen=True)
class _Grid:
    """A complete cross-classification: ``values[cell]`` with ``lines`` = 1-D slices."""

    cells: list[tuple]
    values: np.ndarray
    lines: list[list[int]]

    @property
    def lines_of(self) -> list[list[list[int]]]:
        out: list[list[list[int]]] = [[] for _ in self.cells]
        for line in self.lines:
            for i in line:
                out[i].append(line)
        return out


def _grid(table: pd.DataFrame, dims: list[str], count: str) -> _Grid:
    levels = [sorted(table[d].astype(str).unique()) for d in dims]
    lookup = {
        tuple(map(str, k)): float(v)
        for k, v in zip(table[dims].itertuples(index=False), table[count], strict=True)
    }
    cells = list(itertools.product(*levels))
    index = {c: i for i, c in enumerate(cells)}
    values = np.array([lookup.get(c, 0.0) for c in cells])
    lines: list[list[int]] = []
    for d in range(len(dims)):
        others = [levels[j] for j in range(len(dims)) if j != d]
        for rest in itertools.product(*others):
            line = []
            for lv in levels[d]:
                key = list(rest)
                key.insert(d, lv)
                line.append(index[tuple(key)])
            lines.append(line)
    return _Grid(cells=cells, values=values, lines=lines)


def _smallest_open(
    line: list[int], values: np.ndarray, hidden: np.ndarray, lines_of: list[list[list[int]]]
) -> int | None:
    """Best complement in ``line``: one that repairs other lines, then the smallest value."""
    open_ = [i for i in line if not hidden[i]]
    if not open_:
        return None

    def cost(i: int) -> tuple[int, float, int]:
        effect = 0
        for other in lines_of[i]:
            if other is line:
                continue
            n_hidden = sum(bool(hidden[j]) for j in other)
            effect += 1 if n_hidden == 0 else (-1 if n_hidden == 1 else 0)
        return (effect, float(values[i]), i)

    return min(open_, key=cost)


def _line_rule(grid: _Grid, hidden: np.ndarray, k: int) -> bool:
    """Each line: 0 or >= 2 hidden cells, and the hidden cells of a line sum to >= k."""
    changed = False
    lines_of = grid.lines_of
    again = True
    while again:
        again = False
        for line in grid.lines:
            h = [i for i in line if hidden[i]]
            if not h:
                continue
            if len(h) == 1 or grid.values[h].sum() < k:
                j = _smallest_open(line, grid.values, hidden, lines_of)
                if j is not None:
                    hidden[j] = True
                    again = changed = True
    return changed


def feasible_ranges(
    grid_values: np.ndarray, lines: list[list[int]], hidden: np.ndarray
) -> dict[int, tuple[float, float]]:
    """Attacker's range ``[lo, hi]`` of each hidden cell given every line total and shown cells.

    Example:
        >>> feasible_ranges(np.array([3.0, 40.0]), [[0, 1]], np.array([True, True]))[0]
        (0.0, 43.0)
    """
    from scipy.optimize import linprog

    idx = [i for i in range(len(grid_values)) if hidden[i]]
    if not idx:
        return {}
    pos = {c: j for j, c in enumerate(idx)}
    rows, rhs = [], []
    for line in lines:
        h = [i for i in line if hidden[i]]
        if not h:
            continue
        row = np.zeros(len(idx))
        for i in h:
            row[pos[i]] = 1.0
        rows.append(row)
        rhs.append(grid_values[line].sum() - grid_values[[i for i in line if not hidden[i]]].sum())
    a_eq, b_eq = np.array(rows), np.array(rhs)
    out: dict[int, tuple[float, float]] = {}
    for i in idx:
        c = np.zeros(len(idx))
        c[pos[i]] = 1.0
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        out[i] = (round(float(lo.fun), 6), round(float(-hi.fun), 6))
    return out


def _audit(grid: _Grid, hidden: np.ndarray, primary: np.ndarray, k: int) -> list[int]:
    """Hidden cells that are still disclosed (exact value, or provably small)."""
    ranges = feasible_ranges(grid.values, grid.lines, hidden)
    bad = []
    for i, (lo, hi) in ranges.items():
        line_min = min(grid.values[line].sum() for line in grid.lines if i in line)
        need = min(float(k), line_min)
        if hi - lo < 1 - 1e-9 and line_min > 0 or primary[i] and hi < need - 1e-9:
            bad.append(i)
    return bad


def suppression_mask(grid: _Grid, *, k: int = K_MIN) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(hidden, primary)`` boolean arrays over ``grid.cells``."""
    primary = (grid.values > 0) & (grid.values < k)
    hidden = primary.copy()
    if not hidden.any():
        return hidden, primary
    while True:
        _line_rule(grid, hidden, k)
        bad = _audit(grid, hidden, primary, k)
        if not bad:
            return hidden, primary
        progressed = False
        lines_of = grid.lines_of
        for i in bad:
            for line in (ln for ln in grid.lines if i in ln):
                j = _smallest_open(line, grid.values, hidden, lines_of)
                if j is not None:
                    hidden[j] = True
                    progressed = True
                    break
        if not progressed:
            return hidden, primary


def suppress(
    table: pd.DataFrame, *, dims: list[str], count: str = "n", k: int = K_MIN
) -> pd.DataFrame:
    """Complete ``table`` to the full cross-classification of ``dims`` and mark hidden cells.

    Returns one row per cell with ``dims``, ``count`` (None where hidden), ``suppressed`` and
    ``reason`` (``"small"`` for n < k, ``"complementary"``, or None).

    Example:
        >>> t = pd.DataFrame({"sex": ["f", "m", "x"], "n": [2, 30, 40]})
        >>> suppress(t, dims=["sex"])["suppressed"].tolist()
        [True, True, False]
    """
    if not dims:
        n = int(table[count].sum())
        hidden = 0 < n < k
        return pd.DataFrame(
            [
                {
                    count: None if hidden else n,
                    "suppressed": hidden,
                    "reason": "small" if hidden else None,
                }
            ]
        )
    grid = _grid(table, dims, count)
    hidden, primary = suppression_mask(grid, k=k)
    rows = []
    for i, cell in enumerate(grid.cells):
        row = dict(zip(dims, cell, strict=True))
        row[count] = None if hidden[i] else int(grid.values[i])
        row["suppressed"] = bool(hidden[i])
        row["reason"] = "small" if primary[i] else ("complementary" if hidden[i] else None)
        rows.append(row)
    return pd.DataFrame(rows)


def hidden_cells(
    table: pd.DataFrame, *, dims: list[str], count: str = "n", k: int = K_MIN
) -> set[tuple]:
    """The cells (tuples of dim levels) that :func:`suppress` hides; used to gate statistics."""
    out = suppress(table, dims=dims, count=count, k=k)
    return {tuple(r) for r in out.loc[out["suppressed"], dims].astype(str).itertuples(index=False)}
