"""Small-cell suppression: primary, complementary, and an attacker who differences tables."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from immunome.api import suppress
from immunome.api._summary import counts


def attacker_ranges(table: pd.DataFrame, published: pd.DataFrame, dims: list[str]) -> dict:
    """Independent attacker: true margins of every sub-table are known (queried separately),
    shown cells are known, cells >= 0. Returns the LP range of every hidden cell."""
    cells = [tuple(r) for r in published[dims].astype(str).itertuples(index=False)]
    truth = {
        tuple(map(str, k)): v
        for k, v in zip(table[dims].itertuples(index=False), table["n"], strict=True)
    }
    hidden = [c for c, s in zip(cells, published["suppressed"], strict=True) if s]
    pos = {c: i for i, c in enumerate(hidden)}
    a, b = [], []
    # every marginal over any proper subset of dims is known exactly
    for r in range(len(dims)):
        for keep in itertools.combinations(range(len(dims)), r):
            groups: dict[tuple, list[tuple]] = {}
            for c in cells:
                groups.setdefault(tuple(c[i] for i in keep), []).append(c)
            for members in groups.values():
                row = np.zeros(len(hidden))
                rhs = sum(truth.get(c, 0) for c in members)
                for c in members:
                    if c in pos:
                        row[pos[c]] = 1
                    else:
                        rhs -= truth.get(c, 0)
                if row.any():
                    a.append(row)
                    b.append(rhs)
    out = {}
    for c, i in pos.items():
        obj = np.zeros(len(hidden))
        obj[i] = 1
        lo = linprog(obj, A_eq=np.array(a), b_eq=np.array(b), bounds=(0, None), method="highs").fun
        hi = -linprog(
            -obj, A_eq=np.array(a), b_eq=np.array(b), bounds=(0, None), method="highs"
        ).fun
        out[c] = (lo, hi, truth.get(c, 0))
    return out


def test_primary_cells_hidden_and_big_cells_shown():
    t = pd.DataFrame({"sex": ["female", "male", "intersex"], "n": [30, 40, 2]})
    out = suppress(t, dims=["sex"], k=5).set_index("sex")
    assert out.loc["intersex", "suppressed"] and out.loc["intersex", "reason"] == "small"
    assert out["n"].isna().sum() == 2  # a complement, else total − 30 − 40 = 2
    assert out.loc["female", "reason"] == "complementary"  # the smaller of the two


def test_no_suppression_when_all_cells_large():
    t = pd.DataFrame({"site": ["A", "B"], "n": [10, 20]})
    out = suppress(t, dims=["site"])
    assert not out["suppressed"].any() and out["n"].tolist() == [10, 20]


def test_two_overlapping_queries_cannot_be_differenced():
    """site × sex hides (A, female) = 3; site-only and sex-only tables are public too."""
    t = pd.DataFrame(
        {"site": ["A", "A", "B", "B", "C", "C"], "sex": ["f", "m"] * 3, "n": [3, 30, 20, 25, 12, 1]}
    )
    two = suppress(t, dims=["site", "sex"]).set_index(["site", "sex"])
    by_site = t.groupby("site")["n"].sum()  # the attacker's other query
    assert two.loc[("A", "f"), "suppressed"]
    # naive differencing: A total − (A, m) needs (A, m), which must be hidden too
    assert two.loc[("A", "m"), "suppressed"]
    assert pd.isna(two.loc[("A", "m"), "n"])
    assert by_site["A"] == 33
    ranges = attacker_ranges(t, two.reset_index(), ["site", "sex"])
    for (lo, hi, true), cell in zip(ranges.values(), ranges, strict=True):
        assert hi - lo >= 1, f"{cell} is derivable: [{lo}, {hi}]"
        if true < 5:
            assert hi >= 5, f"{cell} is provably small: [{lo}, {hi}]"


@pytest.mark.parametrize("seed", range(25))
def test_random_tables_never_disclose_a_hidden_cell(seed):
    rng = np.random.default_rng(seed)
    rows_, cols = rng.integers(2, 6), rng.integers(2, 5)
    vals = rng.choice([0, 1, 2, 3, 4, 6, 9, 15, 40], size=(rows_, cols))
    t = pd.DataFrame(
        [(f"r{i}", f"c{j}", int(vals[i, j])) for i in range(rows_) for j in range(cols)],
        columns=["site", "sex", "n"],
    )
    out = suppress(t, dims=["site", "sex"])
    shown = out.loc[~out["suppressed"], "n"]
    assert not ((shown > 0) & (shown < 5)).any(), "a small cell is shown"
    for cell, (lo, hi, true) in attacker_ranges(t, out, ["site", "sex"]).items():
        line_totals = [t[t["site"] == cell[0]]["n"].sum(), t[t["sex"] == cell[1]]["n"].sum()]
        if min(line_totals) == 0:
            continue
        assert hi - lo >= 1 - 1e-6, f"seed {seed}: {cell} derivable ({lo}, {hi})"
        if 0 < true < 5:
            assert hi >= min(5, min(line_totals)) - 1e-6, f"seed {seed}: {cell} provably small"


def test_summary_marks_reason_and_keeps_margin_consistent():
    p = pd.DataFrame(
        {
            "site": ["A"] * 4 + ["B"] * 10,
            "sex": ["female"] * 14,
            "age": [30.0] * 14,
            "race": ["Asian"] * 14,
        }
    )
    out = counts(p, by=["site"])
    rows = {r["site"]: r for r in out["rows"]}
    assert rows["A"]["n"] is None and rows["A"]["reason"] == "small"
    assert rows["B"]["n"] is None and rows["B"]["reason"] == "complementary"
    assert counts(p, by=[])["rows"][0]["n"] == 14
