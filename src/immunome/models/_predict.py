"""Predict on new data: a DataFrame, a CSV/TSV/Parquet file, or a submission bundle (dir or zip).

Example:
    >>> import pandas as pd
    >>> from immunome.models._model import fit_model
    >>> m = fit_model(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), [2.0, 4.0, 6.0], spec={"kind": "ridge", "alpha": 1e-6},
    ...               name="m", transform="identity")
    >>> predict(m, pd.DataFrame({"participant_id": ["x"], "a": [2.0]}))["prediction"].round(2).tolist()
    [4.0]
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from immunome.errors import SchemaMismatchError, UnusableInputError
from immunome.models._model import Model

_TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": "\t"}


def _read_table(name: str, data: bytes) -> pd.DataFrame:
    suffix = Path(name).suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(io.BytesIO(data))
    if suffix in _TABLE_SUFFIXES:
        return pd.read_csv(
            io.BytesIO(data),
            sep=_TABLE_SUFFIXES[suffix],
            na_values=["NA", ""],
            keep_default_na=False,
        )
    raise UnusableInputError(
        f"{name}: unsupported table format {suffix!r}", allowed=[".csv", ".tsv", ".parquet"]
    )


def _alias_map(columns: list[str], assay_id: str | None) -> dict[str, str]:
    """Column (protocol id or alias, any case) → protocol feature id, for the model's assay."""
    if not assay_id:
        return {}
    from immunome.protocol import load_protocol

    assay = next(
        (a for a in load_protocol("global-immunome-study").assays if a.id == assay_id), None
    )
    if assay is None:
        return {}
    out, seen = {}, set()
    for c in columns:
        f = assay.feature(str(c))
        if f is not None and f.id not in seen:
            out[c] = f.id
            seen.add(f.id)
    return out


def _participant_level(
    b: Any, manifest: dict[str, Any], schema: dict[str, Any], path: Path
) -> pd.DataFrame:
    """One row per participant: ``<assay>:<feature>`` values at the schema's baseline day + participant fields."""
    day = int(schema.get("baseline_day", 0))
    samples = _read_table(
        "samples.csv", b.file(manifest.get("samples", "samples.csv")).read_bytes()
    )
    samples = samples[pd.to_numeric(samples["day"], errors="coerce") == day]
    wide = pd.DataFrame(
        index=pd.Index(samples["participant_id"].astype(str).unique(), name="participant_id")
    )
    for e in manifest.get("assays", []):
        t = _assay_table_wide(b, path, e)
        t = t.rename(columns=_alias_map([c for c in t.columns if c != "sample_id"], e["assay"]))
        t = t.merge(samples[["sample_id", "participant_id"]], on="sample_id")
        t["participant_id"] = t["participant_id"].astype(str)
        t = t.drop(columns="sample_id").groupby("participant_id").first()
        wide = wide.join(t.add_prefix(e["assay"] + ":"))
    parts = _read_table(
        "participants.csv", b.file(manifest.get("participants", "participants.csv")).read_bytes()
    )
    parts["participant_id"] = parts["participant_id"].astype(str)
    return parts.merge(wide.reset_index(), on="participant_id", how="right")


def read_bundle_for_model(path: str | Path, schema: dict[str, Any]) -> pd.DataFrame:
    """Rows of a bundle as the model expects them.

    Sample-level models: one row per sample of the model's assay, joined with participant fields.
    Participant-level models (``schema['level'] == 'participant'``): one row per participant.
    """
    from immunome.submission import read_bundle

    b = read_bundle(path)
    manifest = yaml.safe_load(b.manifest_text) or {}
    if schema.get("level") == "participant":
        return _participant_level(b, manifest, schema, Path(path))
    entries = [
        e for e in manifest.get("assays", []) if e.get("assay") == schema.get("assay")
    ] or manifest.get("assays", [])[:1]
    if not entries:
        raise SchemaMismatchError(
            f"{path}: bundle has no assay table for assay {schema.get('assay')!r}"
        )
    frames = []
    for e in entries:
        t = _assay_table_wide(b, path, e)
        frames.append(t.set_index("sample_id"))
    wide = pd.concat(frames, axis=1).reset_index()
    names = {f["name"] for f in schema["features"]}
    wide = wide.rename(
        columns={
            k: v
            for k, v in _alias_map(list(wide.columns), schema.get("assay")).items()
            if v in names and k not in names
        }
    )
    for key, fname in (("samples", "samples.csv"), ("participants", "participants.csv")):
        bf = b.file(manifest.get(key, fname))
        if bf is None:
            continue
        t = _read_table(manifest.get(key, fname), bf.read_bytes())
        on = "sample_id" if key == "samples" else "participant_id"
        if on in wide.columns and on in t.columns:
            extra = [c for c in t.columns if c not in wide.columns or c == on]
            wide = wide.merge(t[extra], on=on, how="left")
    return wide


def read_input(
    source: str | Path | pd.DataFrame, schema: dict[str, Any]
) -> tuple[pd.DataFrame, str]:
    """Load prediction input and say where it came from (for error messages)."""
    if isinstance(source, pd.DataFrame):
        return source, "input"
    p = Path(source)
    if not p.exists():
        raise UnusableInputError(f"{p}: no such file or directory")
    if p.is_dir() or p.suffix.lower() == ".zip":
        return read_bundle_for_model(p, schema), str(p)
    return _read_table(p.name, p.read_bytes()), str(p)


def _bundle_passthrough(df: pd.DataFrame) -> list[str]:
    return [
        c
        for c in (
            "participant_id",
            "sample_id",
            "visit",
            "day",
            "batch",
            "sample_type",
            "age",
            "sex",
            "race",
            "ethnicity",
            "site",
        )
        if c in df.columns
    ]


def predict(
    model: Model | str | Path, data: str | Path | pd.DataFrame, *, name: str | None = None
) -> pd.DataFrame:
    """Schema-checked predictions with intervals, rank, OOD flags and imputed columns.

    ``model`` is a :class:`Model`, a model folder, or a registry root (then give ``name``).
    Output columns: id, ``prediction``, ``lower``/``upper`` (if calibrated), ``rank`` (1 = highest),
    ``ood``, ``ood_features``, ``imputed``. ``attrs['imputed_columns']`` lists imputed features.
    """
    if not isinstance(model, Model):
        from immunome.models._registry import load_model

        model = load_model(model, name)
    df, where = read_input(data, model.schema)
    schema_pass = set(model.schema.get("passthrough", []))
    if not isinstance(data, pd.DataFrame) and (
        Path(data).is_dir() or str(data).lower().endswith(".zip")
    ):
        model = Model(
            **{
                **model.__dict__,
                "schema": {
                    **model.schema,
                    "passthrough": sorted(schema_pass | set(_bundle_passthrough(df))),
                },
            }
        )
    return model.predict(df, where=where)


def _assay_table_wide(b: Any, path: Any, entry: dict[str, Any]) -> pd.DataFrame:
    """Read one manifest assay table of a bundle as wide (``sample_id`` + feature columns)."""
    bf = b.file(entry["file"])
    if bf is None:
        raise UnusableInputError(
            f"{path}: manifest names {entry['file']} but the bundle has no such file"
        )
    t = _read_table(entry["file"], bf.read_bytes())
    if entry.get("layout") == "long":
        t = t.pivot_table(
            index="sample_id", columns="feature", values="value", aggfunc="first"
        ).reset_index()
    return t
