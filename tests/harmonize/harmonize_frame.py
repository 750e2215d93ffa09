"""The test-data container shared by harmonisation fixtures and generators."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class Frame:
    """A samples × features matrix with its site, covariates and participants."""

    X: pd.DataFrame
    site: pd.Series
    cov: pd.DataFrame
    participants: pd.Series
