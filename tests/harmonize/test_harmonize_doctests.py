"""The examples in the harmonize docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "immunome.harmonize",
    "immunome.harmonize._bridge",
    "immunome.harmonize._combat",
    "immunome.harmonize._confounding",
    "immunome.harmonize._design",
    "immunome.harmonize._flags",
    "immunome.harmonize._harmonization",
    "immunome.harmonize._metrics",
    "immunome.harmonize._scales",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, no_warnings):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
