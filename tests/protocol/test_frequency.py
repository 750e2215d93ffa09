"""Relating and converting population frequencies across denominators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunome.errors import ProtocolError
from immunome.protocol import common_ancestor, convert_frequency, lineage, load_protocol, relate


@pytest.fixture(scope="module")
def p():
    return load_protocol()


def test_lineage_and_common_ancestor(p):
    assert lineage("naive_cd8_t_cell", protocol=p)[:3] == [
        "naive_cd8_t_cell",
        "cd8_t_cell",
        "t_cell",
    ]
    assert common_ancestor("treg", "naive_b_cell", protocol=p) == "lymphocyte"
    assert common_ancestor("t_cell", "cd4_t_cell", protocol=p) == "t_cell"


def test_down_and_up_the_tree_round_trip(p):
    freqs = {"t_cell": 60.0, "lymphocyte": 80.0}
    pct_pbmc = convert_frequency(
        24.0,
        population="cd4_t_cell",
        from_denominator="t_cell",
        to_denominator="pbmc",
        frequencies=freqs,
        protocol=p,
    )
    assert pct_pbmc == pytest.approx(24.0 * 0.6 * 0.8)
    back = convert_frequency(
        pct_pbmc,
        population="cd4_t_cell",
        from_denominator="pbmc",
        to_denominator="t_cell",
        frequencies=freqs,
        protocol=p,
    )
    assert back == pytest.approx(24.0)


def test_direct_ancestor_key_is_used(p):
    # (cd4_t_cell, lymphocyte) known directly: no need for t_cell % of lymphocyte
    out = convert_frequency(
        50.0,
        population="naive_cd4_t_cell",
        from_denominator="cd4_t_cell",
        to_denominator="lymphocyte",
        frequencies={("cd4_t_cell", "lymphocyte"): 30.0},
        protocol=p,
    )
    assert out == pytest.approx(15.0)


def test_vectorised_over_samples(p):
    v = pd.Series([10.0, 20.0])
    out = convert_frequency(
        v,
        population="b_cell",
        from_denominator="pbmc",
        to_denominator="lymphocyte",
        frequencies={"lymphocyte": pd.Series([50.0, 80.0])},
        protocol=p,
    )
    assert np.allclose(out, [20.0, 25.0])


def test_missing_chain_frequency_is_a_clear_error(p):
    with pytest.raises(ProtocolError, match="need the frequency of 't_cell' as % of 'lymphocyte'"):
        convert_frequency(
            10.0,
            population="cd4_t_cell",
            from_denominator="t_cell",
            to_denominator="lymphocyte",
            frequencies={},
            protocol=p,
        )


def test_denominator_must_be_on_the_lineage(p):
    with pytest.raises(ProtocolError, match="not 'cd4_t_cell' or one of its ancestors"):
        convert_frequency(
            10.0,
            population="cd4_t_cell",
            from_denominator="b_cell",
            to_denominator="lymphocyte",
            frequencies={},
            protocol=p,
        )


def test_relate_cytof_and_flow_cd4(p):
    r = relate(
        p.assay("cytof_pbmc").feature("cd4_t_cell"),
        p.assay("flow_pbmc").feature("cd4_t_cell"),
        protocol=p,
    )
    assert r.same_population and not r.same_denominator and r.convertible
    assert r.common_ancestor == "pbmc" and r.needs == (("lymphocyte", "pbmc"),)
    same = relate(
        p.assay("cytof_pbmc").feature("b_cell"), p.assay("cytof_pbmc").feature("b_cell"), protocol=p
    )
    assert same.directly_comparable


def test_relate_rejects_non_frequency(p):
    with pytest.raises(ProtocolError, match="not a population frequency"):
        relate(
            p.assay("cbc").feature("wbc_count"),
            p.assay("cbc").feature("lymphocyte_percent"),
            protocol=p,
        )


def test_cytof_relation_holds_in_real_data(p, require_data):
    """10KIP CyTOF: CD4 subsets (% of PBMC) sum to CD4 (% of PBMC) — the documented denominator."""
    df = pd.read_csv(require_data("10kip/CyTOF_PBMC/cytof_pbmc_formatted.csv"))
    parts = [
        "Naive_CD4_T_cells",
        "Central_Memory_CD4_T_cells",
        "Effector_Memory_CD4_T_cells",
        "Effector_CD4_T_cells",
    ]
    ratio = (df[parts].sum(axis=1) / df["CD4_T_cells"]).dropna()
    assert ratio.median() == pytest.approx(1.0, abs=0.02)
    assert {p.assay("cytof_pbmc").feature(c).denominator for c in parts} == {"pbmc"}
