"""Fixtures for harmonisation tests: real 10KIP / CMI-PB tables (via ``require_data``) and small
generated multi-site matrices."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from harmonize_frame import Frame


def _tenkip(path) -> Frame:
    d = pd.read_csv(path)
    rep = d.groupby("subject_accession").cumcount().astype(str)
    d.index = pd.Index(d["subject_accession"] + "#" + rep, name="sample_id")
    meta = {"study_accession", "subject_accession", "age", "gender", "race", "index"}
    X = d[[c for c in d.columns if c not in meta]].astype(float)
    cov = d[["age", "gender"]].rename(columns={"gender": "sex"})
    return Frame(X, d["study_accession"].astype(str), cov, d["subject_accession"])


@pytest.fixture(scope="session")
def cytof(require_data) -> Frame:
    """10KIP CyTOF PBMC as collected (``*_formatted.csv``)."""
    return _tenkip(require_data("10kip/CyTOF_PBMC/cytof_pbmc_formatted.csv"))


@pytest.fixture(scope="session")
def cytof_10kip_normalized(require_data) -> Frame:
    """10KIP's own batch-corrected CyTOF table (the reference to compare against)."""
    return _tenkip(require_data("10kip/CyTOF_PBMC/cytof_pbmc_normalized.csv"))


@pytest.fixture(scope="session")
def flow_pbmc(require_data) -> tuple[Frame, Frame]:
    """10KIP flow PBMC formatted + 10KIP-normalized (same rows, same order)."""
    a = _tenkip(require_data("10kip/Flow_Cytometry_PBMC/flow_pbmc_formatted.csv"))
    b = _tenkip(require_data("10kip/Flow_Cytometry_PBMC/flow_pbmc_normalized.csv"))
    return a, b


@pytest.fixture(scope="session")
def cmipb(require_data):
    """CMI-PB day-0 baselines of 2020 and 2021 on a common feature set, with age and sex."""

    def load(table: str) -> Frame:
        frames, covs, sites = [], [], []
        for year in ("2020", "2021"):
            x = pd.read_csv(
                require_data(f"cmipb/harmonized/{table}.{year}.day0.pivoted.tsv"), sep="\t"
            )
            meta = pd.read_csv(
                require_data(f"cmipb/harmonized/clinical_metadata.{year}.tsv"), sep="\t"
            ).set_index("subject_id")
            x = x.set_index("subject_id")
            x.index = [f"{year}-{i}" for i in x.index]
            m = meta.reindex([int(i.split("-")[1]) for i in x.index])
            age = pd.to_datetime(m["date_of_boost"]) - pd.to_datetime(m["year_of_birth"])
            covs.append(
                pd.DataFrame(
                    {
                        "age": (age.dt.days / 365.25).to_numpy(),
                        "sex": m["biological_sex"].to_numpy(),
                    },
                    index=x.index,
                )
            )
            frames.append(x)
            sites.append(pd.Series(year, index=x.index))
        X = pd.concat(frames).astype(float)
        site = pd.concat(sites)
        return Frame(X, site, pd.concat(covs), pd.Series(X.index, index=X.index))

    return load


@pytest.fixture
def no_warnings():
    """Run a block with harmonisation warnings silenced (tests that don't check them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
