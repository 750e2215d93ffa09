"""Privacy rules: columns that hold direct identifiers are errors (rule ``privacy``).

Detected by column name (``name``, ``email``, ``phone``, ``address``, ``dob``, ``mrn`` …) and by
value patterns (e-mail addresses, phone numbers, street addresses, calendar dates, medical
record numbers, US social security numbers).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_NAME_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "a person's name",
        re.compile(
            r"^(x_)?(first|last|given|family|full|middle|maiden|patient|participant|subject|"
            r"mother|father|donor)?_?(name|surname|forename|initials)$",
            re.I,
        ),
    ),
    ("an e-mail address", re.compile(r"(^|_)e?-?mail(_?address)?$", re.I)),
    (
        "a phone number",
        re.compile(r"(^|_)(phone|telephone|tel|mobile|cell_?phone|fax)(_?(no|number))?$", re.I),
    ),
    (
        "a street address",
        re.compile(
            r"(^|_)(street|address|addr|home_address|postcode|zip_?code|postal_?code)$", re.I
        ),
    ),
    ("an exact birth date", re.compile(r"(^|_)(dob|birth_?date|date_?of_?birth|birthday)$", re.I)),
    (
        "a medical record number",
        re.compile(
            r"(^|_)(mrn|medical_?record(_?(no|number|id))?|hospital_?(no|number|id)|chart_?(no|number))$",
            re.I,
        ),
    ),
    (
        "a social security / national ID",
        re.compile(r"(^|_)(ssn|social_?security(_?number)?|nhs_?(no|number)|national_?id)$", re.I),
    ),
]

#: (what, RE2 pattern) — evaluated by Arrow's C++ regex engine, once per distinct value.
_VALUE_RULES: list[tuple[str, str]] = [
    ("an e-mail address", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    ("a social security number", r"^\d{3}-\d{2}-\d{4}$"),
    (
        "a calendar date",
        r"^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}\.\d{1,2}\.\d{4})"
        r"(?:[ T]\d{1,2}:\d{2}.*)?$",
    ),
    ("a medical record number", r"(?i)^(?:mrn|mr#|med\s*rec|medical\s*record)[\s#:_-]*\d{4,}$"),
    (
        "a street address",
        r"(?i)^\d{1,6}\s+(?:\w+\s+){0,4}(?:street|st\.?|avenue|ave\.?|road|rd\.?|boulevard|blvd\.?|lane|ln\.?|drive|dr\.?|court|ct\.?|way|place|pl\.?|terrace|highway)(?:\W|$)",
    ),
    ("a phone number", r"^\+?[\d\s().-]{9,24}$"),
]
DATE_PATTERN = _VALUE_RULES[2][1]
_PHONE_SEP = r"[\s().+-]"


def identifier_column(name: str) -> str | None:
    """What direct identifier a column *name* suggests, or None.

    Example:
        >>> identifier_column("Email"), identifier_column("age")
        ('an e-mail address', None)
    """
    for what, rx in _NAME_RULES:
        if rx.search(name.strip()):
            return what
    return None


def identifier_values(values: pd.Series, *, dates: bool = True) -> tuple[str, np.ndarray] | None:
    """If text ``values`` look like identifiers, return ``(what, row mask)``; vectorised.

    Example:
        >>> s = pd.Series(["a", "x@y.org", None])
        >>> identifier_values(s)[0]
        'an e-mail address'
    """
    nonnull = values.dropna()
    if nonnull.empty:
        return None
    uniq = pa.array(pd.unique(nonnull.astype(str)), pa.string())
    rules = [(w, rx) for w, rx in _VALUE_RULES if dates or w != "a calendar date"]
    any_hit = pc.match_substring_regex(uniq, "|".join(f"(?:{rx})" for _, rx in rules))
    if not pc.any(any_hit).as_py():  # one C++ pass over distinct values in the common case
        return None
    uniq = pc.filter(uniq, any_hit)
    for what, rx in rules:
        hit = pc.match_substring_regex(uniq, rx)
        if what == "a phone number":
            digits = pc.count_substring_regex(uniq, r"\d")
            hit = pc.and_(
                pc.and_(hit, pc.match_substring_regex(uniq, _PHONE_SEP)),
                pc.and_(pc.greater_equal(digits, 9), pc.less_equal(digits, 15)),
            )
        if pc.any(hit).as_py():
            bad = pc.filter(uniq, hit)
            return what, values.isin(set(bad.to_pylist())).to_numpy()
    return None
