"""A model's input schema: which columns it needs, their units/transform, and the training range.

Saved with the model and re-checked on every prediction: a missing feature is an error naming it
(unless the schema declares ``imputation: median`` or ``native``), unknown columns are ignored with a warning,
and rows far from the training distribution are flagged.

Example:
    >>> import numpy as np, pandas as pd
    >>> s = build_schema(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), transform="log1p", units={"a": "%"})
    >>> [f["name"] for f in s["features"]]
    ['a']
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from immunome.errors import OutOfDistributionWarning, SchemaMismatchError, UnknownColumnWarning

SCHEMA_FORMAT = "immunome-model-schema/1"
OOD_Z = 6.0
ID_COLUMNS = ("participant_id", "sample_id", "subject_id", "id")
_TRANSFORMS = ("log1p", "identity")
IMPUTATION = ("median", "native")  # native: the estimator itself handles missing values


def apply_transform(values: np.ndarray, transform: str) -> np.ndarray:
    """Apply a feature transform (``log1p`` clips negatives at 0 first)."""
    if transform == "log1p":
        return np.log1p(np.clip(values, 0, None))
    if transform == "identity":
        return values
    raise SchemaMismatchError(f"unknown transform {transform!r}", allowed=_TRANSFORMS)


def add_derived(df: pd.DataFrame, derived: list[dict[str, Any]] | None) -> pd.DataFrame:
    """Add log-ratio features: ``log((Σ numerator + offset) / (Σ denominator + offset))``.

    A ratio is missing when any of its inputs is missing — except numerator parts when the
    ratio is declared ``partial`` (missing parts are then left out of the sum).
    """
    if not derived:
        return df
    df = df.copy()
    for d in derived:

        def total(cols: list[str], partial: bool) -> pd.Series:
            parts = [
                pd.to_numeric(df[c], errors="coerce")
                if c in df.columns
                else pd.Series(np.nan, index=df.index)
                for c in cols
            ]
            both = pd.concat(parts, axis=1)
            return both.sum(axis=1, min_count=1) if partial else both.sum(axis=1, skipna=False)

        off = float(d.get("offset", 0.1))
        num, den = total(d["numerator"], bool(d.get("partial"))), total(d["denominator"], False)
        df[d["name"]] = np.log((num + off) / (den + off))
    return df


def build_schema(
    X: pd.DataFrame,
    *,
    transform: str = "log1p",
    transforms: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    categories: Mapping[str, list[str]] | None = None,
    imputation: str = "none",
    derived: list[dict[str, Any]] | None = None,
    **context: Any,
) -> dict[str, Any]:
    """Describe the training matrix ``X`` (numeric columns, plus one-hot ``categories``).

    ``context`` holds provenance such as ``assay``, ``layer``, ``release_id``, ``target``.
    """
    feats = []
    cats = dict(categories or {})
    derived_names = {d["name"] for d in derived or []}
    for col in X.columns:
        if col in cats:
            continue
        t = "identity" if col in derived_names else (transforms or {}).get(col, transform)
        v = apply_transform(pd.to_numeric(X[col], errors="coerce").to_numpy(float), t)
        v = v[np.isfinite(v)]
        med = float(np.median(v)) if v.size else 0.0
        iqr = float(np.subtract(*np.percentile(v, [75, 25]))) if v.size else 0.0
        sd = float(np.std(v)) if v.size else 0.0
        feats.append(
            {
                "name": str(col),
                "unit": (units or {}).get(col),
                "transform": t,
                "required": True,
                "median": med,
                "robust_scale": (iqr / 1.349) or sd or 1.0,
                "min": float(v.min()) if v.size else None,
                "max": float(v.max()) if v.size else None,
                "derived": col in derived_names,
            }
        )
    return {
        "format": SCHEMA_FORMAT,
        "features": feats,
        "categories": {k: list(map(str, v)) for k, v in cats.items()},
        "imputation": imputation,
        "derived": list(derived or []),
        "ood": {"method": "robust_z", "threshold": OOD_Z},
        **context,
    }


def feature_names(schema: Mapping[str, Any]) -> list[str]:
    """Names of the model's numeric inputs, then one ``<category>=<level>`` per categorical level."""
    names = [f["name"] for f in schema["features"]]
    for cat, levels in schema.get("categories", {}).items():
        names += [f"{cat}={lv}" for lv in levels]
    return names


def _id_column(df: pd.DataFrame, schema: Mapping[str, Any]) -> str | None:
    wanted = schema.get("id_column")
    for c in ([wanted] if wanted else []) + list(ID_COLUMNS):
        if c in df.columns:
            return c
    return None


def encode(
    df: pd.DataFrame, schema: Mapping[str, Any], *, where: str = "input"
) -> tuple[np.ndarray, dict[str, Any]]:
    """Check ``df`` against ``schema`` and return the model matrix plus a report.

    The report has ``ids``, ``imputed`` (per-row list of imputed feature names), ``ignored``
    (unknown columns) and ``ood`` (per-row list of out-of-range features).
    """
    idc = _id_column(df, schema)
    ids = df[idc].astype(str).tolist() if idc else [str(i) for i in range(len(df))]
    cols = [f["name"] for f in schema["features"] if not f.get("derived")]
    cats = schema.get("categories", {})
    missing = [c for c in cols + list(cats) if c not in df.columns]
    policy = schema.get("imputation", "none")
    if missing and (policy not in IMPUTATION or any(c in cats for c in missing)):
        raise SchemaMismatchError(
            f"{where}: missing required feature column(s): {', '.join(missing)}",
            allowed=cols + list(cats),
            missing=missing,
        )
    known = set(cols) | set(cats) | {idc} | set(schema.get("passthrough", []))
    ignored = [str(c) for c in df.columns if c not in known]
    if ignored:
        warnings.warn(
            f"{where}: ignoring {len(ignored)} column(s) the model does not use: {', '.join(ignored[:20])}",
            UnknownColumnWarning,
            stacklevel=3,
        )
    blocks, imputed, ood = [], [[] for _ in ids], [[] for _ in ids]
    df = add_derived(df, schema.get("derived"))
    for f in schema["features"]:
        name = f["name"]
        raw = df[name] if name in df.columns else pd.Series([np.nan] * len(df), index=df.index)
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() & raw.notna() & ~raw.astype("string").str.strip().isin(["", "NA"])
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise SchemaMismatchError(
                f"{where}: line {i + 2}, column {name!r}: value {raw.iloc[i]!r} is not a number",
                column=name,
                line=i + 2,
            )
        v = apply_transform(num.to_numpy(float), f["transform"])
        nan = ~np.isfinite(v)
        if nan.any():
            if policy not in IMPUTATION:
                i = int(np.argmax(nan))
                raise SchemaMismatchError(
                    f"{where}: line {i + 2}, column {name!r}: value missing and the model declares no imputation "
                    "policy (rule: required feature)",
                    column=name,
                    line=i + 2,
                )
            if policy == "median":
                v = np.where(nan, f["median"], v)
            for i in np.where(nan)[0] if not f.get("derived") else []:
                imputed[i].append(name)
        z = np.abs(v - f["median"]) / f["robust_scale"]
        for i in np.where((z > schema["ood"]["threshold"]) & ~nan)[0]:
            ood[i].append(name)
        blocks.append(v)
    for cat, levels in cats.items():
        vals = df[cat].astype("string").str.strip()
        if all(lv == lv.lower() for lv in levels):
            vals = vals.str.lower()
        unknown = sorted(set(vals.dropna().tolist()) - set(levels))
        if unknown or vals.isna().any():
            raise SchemaMismatchError(
                f"{where}: column {cat!r} has unknown or missing categories {unknown or ['<missing>']}",
                allowed=levels,
                column=cat,
            )
        blocks += [(vals == lv).to_numpy(float) for lv in levels]
    X = np.column_stack(blocks) if blocks else np.empty((len(df), 0))
    n_ood = sum(bool(o) for o in ood)
    if n_ood:
        warnings.warn(
            f"{where}: {n_ood} row(s) lie far outside the training distribution (|robust z| > "
            f"{schema['ood']['threshold']}); see the 'ood' column",
            OutOfDistributionWarning,
            stacklevel=3,
        )
    return X, {"ids": ids, "id_column": idc, "imputed": imputed, "ignored": ignored, "ood": ood}


def training_matrix(df: pd.DataFrame, schema: Mapping[str, Any]) -> np.ndarray:
    """Encode training data (NaN kept, no OOD/unknown checks) in the schema's column order."""
    df = add_derived(df, schema.get("derived"))
    blocks = [
        apply_transform(
            pd.to_numeric(df[f["name"]], errors="coerce").to_numpy(float), f["transform"]
        )
        for f in schema["features"]
    ]
    for cat, levels in schema.get("categories", {}).items():
        vals = df[cat].astype("string")
        blocks += [(vals == lv).to_numpy(float) for lv in levels]
    return np.column_stack(blocks)
