"""Suppression on real data: the 10,000 Immunomes Project CyTOF table (579 subjects, 9 ImmPort
studies as sites; Zalocusky et al., Cell Reports 2018). An independent LP attacker who knows every
marginal table must not pin down any hidden cell."""

from __future__ import annotations

import pandas as pd
import pytest

from immunome.api import suppress
from immunome.api._summary import counts, participant_frame

from .test_suppress import attacker_ranges

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def participants(require_data) -> pd.DataFrame:
    raw = pd.read_csv(require_data("10kip/CyTOF_PBMC/cytof_pbmc_formatted.csv"))
    p = raw.drop_duplicates("subject_accession").set_index("subject_accession")
    return p.rename(columns={"study_accession": "site", "gender": "sex"})[
        ["site", "sex", "age", "race"]
    ]


def test_real_table_shape(participants):
    assert len(participants) == 579 and participants["site"].nunique() == 9


@pytest.mark.parametrize(
    "by", [["site", "sex"], ["site", "ancestry"], ["site", "age_band"], ["sex", "ancestry"]]
)
def test_no_hidden_cell_is_disclosed_on_real_data(participants, by):
    frame = participant_frame(participants)
    table = frame.groupby(by).size().rename("n").reset_index()
    out = suppress(table, dims=by)
    shown = out.loc[~out["suppressed"], "n"]
    assert not ((shown > 0) & (shown < 5)).any()
    assert counts(participants, by=by)["suppressed"] == int(out["suppressed"].sum())
    for cell, (lo, hi, true) in attacker_ranges(table, out, by).items():
        line_totals = [table[table[d] == cell[i]]["n"].sum() for i, d in enumerate(by)]
        assert hi - lo >= 1 - 1e-6, f"{cell}: derivable ({lo}, {hi})"
        if 0 < true < 5:
            assert hi >= min(5, min(line_totals)) - 1e-6, f"{cell}: provably small ({lo}, {hi})"
