"""Check assay tables (long or wide) and turn them into clean long Arrow tables.

Everything is vectorised over dictionary codes: per-row work is numpy gathers and compares,
per-value work (feature names, units, sample IDs) runs once per *distinct* value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from immunome.protocol import Assay, Protocol
from immunome.submission._fields import check_numeric
from immunome.submission._manifest import MANIFEST, AssayFile
from immunome.submission._privacy import identifier_column, identifier_values
from immunome.submission._report import ValidationReport
from immunome.submission._tables import DICT_STR, Table

LONG_COLUMNS = ["sample_id", "feature", "value", "unit"]
LONG_TYPES = {"sample_id": DICT_STR, "feature": DICT_STR, "unit": DICT_STR, "value": pa.float64()}
CLEAN_SCHEMA = pa.schema(
    [
        ("sample_id", DICT_STR),
        ("assay", DICT_STR),
        ("feature", DICT_STR),
        ("value", pa.float64()),
        ("unit", DICT_STR),
    ]
)


def dict_codes(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str]]:
    """Dictionary-encode a text column: (int32 codes with -1 for null, distinct stripped values)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if not pa.types.is_dictionary(col.type):
        if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            col = pc.cast(col, pa.string())
        col = pc.dictionary_encode(col)
    idx = col.indices if col.null_count == 0 else pc.fill_null(col.indices, -1)
    codes = idx.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    raw = [str(v) for v in col.dictionary.to_pylist()]
    stripped = pd.Series(raw, dtype=object).str.strip()
    remap, uniq = pd.factorize(stripped)
    if len(uniq) != len(raw) or (uniq.size and not np.array_equal(remap, np.arange(len(raw)))):
        remap = remap.astype(np.int32)
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1).astype(np.int32)
    blank = [i for i, v in enumerate(uniq) if v == ""]
    if blank:
        codes = np.where(np.isin(codes, blank), -1, codes).astype(np.int32)
    return codes, [str(v) for v in uniq]


@dataclass
class FeatureIndex:
    """Canonical features of one assay, looked up by id or alias (case-insensitive)."""

    ids: list[str]
    units: list[str]
    lo: np.ndarray
    hi: np.ndarray
    plo: np.ndarray
    phi: np.ndarray
    integer: np.ndarray
    lookup: dict[str, int]
    open: bool

    @classmethod
    def of(cls, assay: Assay) -> FeatureIndex:
        lookup: dict[str, int] = {}
        for i, f in enumerate(assay.features):
            for name in (f.id, *f.aliases):
                lookup.setdefault(name.strip().lower(), i)
        inf = np.inf

        def arr(get) -> np.ndarray:
            return np.array([get(f) for f in assay.features], dtype=float)

        return cls(
            ids=[f.id for f in assay.features],
            units=[f.unit for f in assay.features],
            lo=arr(lambda f: f.range[0] if f.range else -inf),
            hi=arr(lambda f: f.range[1] if f.range else inf),
            plo=arr(lambda f: f.plausible[0] if f.plausible else -inf),
            phi=arr(lambda f: f.plausible[1] if f.plausible else inf),
            integer=np.array([f.value_type == "int" for f in assay.features], dtype=bool),
            lookup=lookup,
            open=assay.open_features,
        )

    def find(self, name: str) -> int:
        """Index of a feature name, or -1."""
        return self.lookup.get(name.strip().lower(), -1)

    def add_open(self, name: str, unit: str) -> int:
        """Accept an undeclared feature of an open assay (e.g. a gene)."""
        self.ids.append(name)
        self.units.append(unit)
        for attr, v in (("lo", -np.inf), ("hi", np.inf), ("plo", -np.inf), ("phi", np.inf)):
            setattr(self, attr, np.append(getattr(self, attr), v))
        self.integer = np.append(self.integer, False)
        self.lookup[name.strip().lower()] = len(self.ids) - 1
        return len(self.ids) - 1


@dataclass
class Context:
    """What measurement checks need to know about the rest of the bundle."""

    protocol: Protocol
    sample_ids: set[str] | None
    report: ValidationReport
    manifest_text: str = ""

    def manifest_line(self, needle: str) -> int | None:
        """First manifest line containing ``needle`` (for issues about manifest entries)."""
        for i, line in enumerate(self.manifest_text.splitlines(), start=1):
            if needle in line:
                return i
        return None


def _unit_info(protocol: Protocol, symbol: str):
    u = protocol.unit(symbol) or protocol.unit(symbol.strip())
    if u is None:
        lower = {s.lower(): x for x in protocol.units for s in (x.symbol, *x.aliases)}
        u = lower.get(symbol.strip().lower())
    return u


def _compatible_units(protocol: Protocol, feature_unit: str) -> list[str]:
    fu = protocol.unit(feature_unit)
    return [u.symbol for u in protocol.units if fu is None or u.dimension == fu.dimension]


def _check_sample_refs(
    s_codes: np.ndarray,
    s_vals: list[str],
    lines_of,
    file: str,
    ctx: Context,
) -> None:
    report = ctx.report
    miss = s_codes < 0
    if miss.any():
        report.add_rows(
            file,
            lines_of(np.flatnonzero(miss)),
            "sample_id",
            "required",
            ["sample_id is required"] * int(miss.sum()),
        )
    if ctx.sample_ids is not None:
        bad = [i for i, v in enumerate(s_vals) if v not in ctx.sample_ids]
        if bad:
            rows = np.flatnonzero(np.isin(s_codes, bad))
            report.add_rows(
                file,
                lines_of(rows),
                "sample_id",
                "orphan-measurement",
                [f"sample {s_vals[s_codes[r]]!r} is not in the samples file" for r in rows[:60]]
                + ["orphan"] * max(0, len(rows) - 60),
            )
    hit = identifier_values(pd.Series(s_vals, dtype=object))
    if hit is not None:
        what, mask = hit
        rows = np.flatnonzero(np.isin(s_codes, np.flatnonzero(mask)))
        report.add_rows(
            file,
            lines_of(rows),
            "sample_id",
            "privacy",
            [f"sample_id looks like {what}"] * len(rows),
        )


def _check_values(
    v: np.ndarray,
    f_row: np.ndarray,
    factor: np.ndarray | None,
    fi: FeatureIndex,
    lines_of,
    file: str,
    column_of,
    report: ValidationReport,
    present: np.ndarray | None = None,
) -> None:
    """Range (error) and plausible (warning) checks, and integer features, vectorised.

    ``present`` (feature indices that may occur) enables a two-reduction fast path.
    """
    if factor is None and present is not None and _globally_in_range(v, present, fi):
        return
    ok = f_row >= 0
    fr = np.where(ok, f_row, 0)
    conv = v if factor is None else v * factor
    with np.errstate(invalid="ignore"):
        hard = ok & ((conv < fi.lo[fr]) | (conv > fi.hi[fr]))
        soft = ok & ~hard & ((conv < fi.plo[fr]) | (conv > fi.phi[fr]))
        frac = ok & fi.integer[fr] & ~np.isnan(v) & (v != np.floor(v))
    for mask, rule, lo, hi, sev in (
        (hard, "range", fi.lo, fi.hi, "error"),
        (soft, "plausible", fi.plo, fi.phi, "warning"),
    ):
        if mask.any():
            rows = np.flatnonzero(mask)
            for col, idx in _group_by_column(rows, column_of):
                fs = f_row[idx]
                report.add_rows(
                    file,
                    lines_of(idx),
                    col,
                    rule,
                    [
                        f"{fi.ids[f]} = {v[i]:g} ({conv[i]:g} {fi.units[f]}) is outside "
                        f"[{lo[f]:g}, {hi[f]:g}] {fi.units[f]}"
                        for i, f in zip(idx[:60], fs[:60], strict=True)
                    ]
                    + [""] * max(0, len(idx) - 60),
                    severity=sev,  # type: ignore[arg-type]
                )
    if frac.any():
        rows = np.flatnonzero(frac)
        for col, idx in _group_by_column(rows, column_of):
            report.add_rows(
                file,
                lines_of(idx),
                col,
                "type",
                [f"{v[i]:g} is not an integer" for i in idx[:60]] + [""] * max(0, len(idx) - 60),
            )


def _globally_in_range(v: np.ndarray, present: np.ndarray, fi: FeatureIndex) -> bool:
    """Cheap pre-check: every value lies inside the tightest range of the features present."""
    present = present[present >= 0]
    if present.size == 0 or fi.integer[present].any():
        return present.size == 0
    if v.size == 0 or np.isnan(v).all():
        return True
    lo, hi = np.nanmin(v), np.nanmax(v)
    floor = max(fi.lo[present].max(), fi.plo[present].max())
    ceil = min(fi.hi[present].min(), fi.phi[present].min())
    return bool(lo >= floor and hi <= ceil)


def _group_by_column(rows: np.ndarray, column_of) -> list[tuple[str, np.ndarray]]:
    cols = column_of(rows)
    if isinstance(cols, str):
        return [(cols, rows)]
    cols = np.asarray(cols)
    return [(str(c), rows[cols == c]) for c in pd.unique(cols)]


def _duplicates(s_codes: np.ndarray, f_row: np.ndarray, n_feat: int) -> np.ndarray:
    """Row indices that repeat an earlier (sample, feature) pair."""
    valid = (s_codes >= 0) & (f_row >= 0)
    key = s_codes.astype(np.int64) * max(n_feat, 1) + f_row
    if valid.all() and (key.size < 2 or bool(np.all(key[1:] > key[:-1]))):
        return np.empty(0, dtype=np.int64)
    key = np.where(valid, key, -1 - np.arange(key.size))
    return np.flatnonzero(pd.Series(key).duplicated(keep="first").to_numpy())


def _clean(
    s_codes: np.ndarray,
    s_vals: list[str],
    assay_id: str,
    f_row: np.ndarray,
    fi: FeatureIndex,
    v: np.ndarray,
    unit_code: np.ndarray,
    unit_syms: list[str],
) -> pa.Table:
    keep = ~np.isnan(v) & (s_codes >= 0) & (f_row >= 0)
    if not keep.all():
        s_codes, f_row, v, unit_code = s_codes[keep], f_row[keep], v[keep], unit_code[keep]
    n = len(v)

    def d(codes: np.ndarray, vals: list[str]) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(
            pa.array(codes, pa.int32()), pa.array(vals, pa.string())
        )

    return pa.table(
        [
            d(s_codes, s_vals),
            d(np.zeros(n, np.int32), [assay_id]),
            d(f_row, list(fi.ids)),
            pa.array(v, pa.float64()),
            d(unit_code, unit_syms),
        ],
        schema=CLEAN_SCHEMA,
    )


def check_long(table: Table, entry: AssayFile, assay: Assay, ctx: Context) -> pa.Table | None:
    """Validate a long table (``sample_id, feature, value[, unit]``); return clean rows."""
    report, protocol, file = ctx.report, ctx.protocol, table.name
    cols = table.columns
    for c in cols:
        if c in LONG_COLUMNS or c.startswith("x_"):
            continue
        what = identifier_column(c)
        if what:
            report.add(file, 1, c, "privacy", f"column {c!r} looks like it holds {what}")
        else:
            report.add(file, 1, c, "column-unknown", f"unknown column {c!r}", allowed=LONG_COLUMNS)
    missing = [c for c in ("sample_id", "feature", "value") if c not in cols]
    for c in missing:
        report.add(
            file, 1, c, "column-missing", f"required column {c!r} is missing", allowed=LONG_COLUMNS
        )
    if missing:
        return None
    data = table.data
    n = data.num_rows
    lines_of = table.line_of
    s_codes, s_vals = dict_codes(data.column("sample_id"))
    _check_sample_refs(s_codes, s_vals, lines_of, file, ctx)

    fi = FeatureIndex.of(assay)
    f_codes, f_vals = dict_codes(data.column("feature"))
    f_map = np.array([fi.find(x) for x in f_vals] or [0], dtype=np.int32)
    if fi.open:
        for i, x in enumerate(f_vals):
            if f_map[i] < 0:
                f_map[i] = fi.add_open(x, assay.default_unit or "count")
    if (f_codes >= 0).all():
        f_row = f_map[f_codes]
    else:
        f_row = np.where(f_codes >= 0, f_map[np.maximum(f_codes, 0)], -2).astype(np.int32)
    unknown = np.flatnonzero(f_row == -1)
    if unknown.size:
        report.add_rows(
            file,
            lines_of(unknown),
            "feature",
            "feature-unknown",
            [f"unknown feature {f_vals[f_codes[r]]!r} for assay {assay.id!r}" for r in unknown[:60]]
            + [""] * max(0, unknown.size - 60),
            allowed=fi.ids,
        )
    nofeat = np.flatnonzero(f_row == -2)
    if nofeat.size:
        report.add_rows(
            file, lines_of(nofeat), "feature", "required", ["feature is required"] * nofeat.size
        )

    # units: per distinct unit symbol, then gathered per row
    unit_syms = [u.symbol for u in protocol.units]
    sym_idx = {s: i for i, s in enumerate(unit_syms)}
    dim = {u.symbol: u.dimension for u in protocol.units}
    fac = {u.symbol: u.factor for u in protocol.units}
    feat_unit_code = np.array([sym_idx.get(u, 0) for u in fi.units] or [0], dtype=np.int32)
    if "unit" in cols:
        u_codes, u_vals = dict_codes(data.column("unit"))
    else:
        u_codes, u_vals = np.full(n, -1, np.int32), []
    u_info = [_unit_info(protocol, x) for x in u_vals]
    given_code = np.array([sym_idx[u.symbol] if u else -1 for u in u_info] or [0], dtype=np.int32)
    dim_ids = {d: i for i, d in enumerate(sorted(set(dim.values())))}
    dims = np.array([dim_ids[dim[s]] for s in unit_syms], dtype=np.int32)
    facs = np.array([fac[s] for s in unit_syms], dtype=float)
    fr = np.maximum(f_row, 0)
    if len(u_vals) == 1 and (u_codes == 0).all():  # one unit for the whole table: per-feature work
        unit_row = (
            np.full(n, given_code[0], np.int32) if given_code[0] >= 0 else np.full(n, -1, np.int32)
        )
    else:
        unit_row = np.where(u_codes >= 0, given_code[np.maximum(u_codes, 0)], feat_unit_code[fr])
    bad_unit = np.flatnonzero(unit_row < 0)
    if bad_unit.size:
        report.add_rows(
            file,
            lines_of(bad_unit),
            "unit",
            "unit-unknown",
            [f"unknown unit {u_vals[u_codes[r]]!r}" for r in bad_unit[:60]]
            + [""] * max(0, bad_unit.size - 60),
            allowed=unit_syms,
        )
    ur = np.maximum(unit_row, 0)
    # per-row unit→feature compatibility and conversion factor via a small (unit, feature) table
    pair_ok = dims[:, None] == dims[feat_unit_code][None, :]
    pair_factor = facs[:, None] / facs[feat_unit_code][None, :]
    incompatible = (unit_row >= 0) & (f_row >= 0) & ~pair_ok[ur, fr]
    if incompatible.any():
        rows = np.flatnonzero(incompatible)
        report.add_rows(
            file,
            lines_of(rows),
            "unit",
            "unit-incompatible",
            [
                f"unit {unit_syms[unit_row[r]]!r} cannot measure {fi.ids[f_row[r]]} "
                f"(protocol unit {fi.units[f_row[r]]!r})"
                for r in rows[:60]
            ]
            + [""] * max(0, rows.size - 60),
            allowed=_compatible_units(protocol, fi.units[f_row[rows[0]]]),
        )
    used_u = np.unique(np.concatenate([given_code[given_code >= 0], feat_unit_code]))
    used_f = np.unique(f_map[f_map >= 0]) if (f_map >= 0).any() else np.zeros(1, np.int64)
    trivial = bool((pair_factor[np.ix_(used_u, used_f)] == 1.0).all())
    factor = None if trivial else pair_factor[ur, fr]

    vcol = data.column("value")
    if pa.types.is_floating(vcol.type) or pa.types.is_integer(vcol.type):
        v = vcol.to_numpy().astype(np.float64, copy=False)
    else:
        s = vcol.to_pandas()
        v = check_numeric(
            s, lines_of(np.arange(n)), file=file, column="value", report=report
        ).to_numpy(dtype=float)
    checkable = f_row
    if bad_unit.size or incompatible.any():
        checkable = np.where((unit_row >= 0) & ~incompatible, f_row, -1).astype(np.int32)
    _check_values(
        v, checkable, factor, fi, lines_of, file, lambda rows: "value", report, present=f_map
    )

    dup = _duplicates(s_codes, f_row, len(fi.ids))
    if dup.size:
        report.add_rows(
            file,
            lines_of(dup),
            "feature",
            "duplicate-measurement",
            [
                f"sample {s_vals[s_codes[r]]!r} already has a value for {fi.ids[f_row[r]]}"
                for r in dup[:60]
            ]
            + [""] * max(0, dup.size - 60),
        )
    return _clean(s_codes, s_vals, assay.id, f_row, fi, v, np.maximum(unit_row, 0), unit_syms)


def check_wide(table: Table, entry: AssayFile, assay: Assay, ctx: Context) -> pa.Table | None:
    """Validate a wide table (``sample_id`` + one column per feature id or alias)."""
    report, protocol, file = ctx.report, ctx.protocol, table.name
    fi = FeatureIndex.of(assay)
    unit_syms = [u.symbol for u in protocol.units]
    sym_idx = {s: i for i, s in enumerate(unit_syms)}
    if "sample_id" not in table.columns:
        report.add(
            file,
            1,
            "sample_id",
            "column-missing",
            "required column 'sample_id' is missing",
            allowed=["sample_id", *fi.ids],
        )
        return None
    overrides = _unit_overrides(entry, fi, protocol, report, ctx)
    feature_cols: list[tuple[str, int]] = []
    seen: dict[int, str] = {}
    for c in table.columns:
        if c == "sample_id" or c.startswith("x_"):
            continue
        k = fi.find(c)
        if k < 0 and fi.open:
            k = fi.add_open(c.strip(), assay.default_unit or "count")
        if k < 0:
            what = identifier_column(c)
            if what:
                report.add(file, 1, c, "privacy", f"column {c!r} looks like it holds {what}")
            else:
                report.add(
                    file,
                    1,
                    c,
                    "feature-unknown",
                    f"column {c!r} is not a feature of assay {assay.id!r}",
                    allowed=fi.ids,
                )
            continue
        if k in seen:
            report.add(
                file,
                1,
                c,
                "duplicate-measurement",
                f"column {c!r} names feature {fi.ids[k]} again (first: {seen[k]!r})",
            )
            continue
        seen[k] = c
        feature_cols.append((c, k))
    data = table.data
    n = data.num_rows
    lines_of = table.line_of
    s_codes, s_vals = dict_codes(data.column("sample_id"))
    _check_sample_refs(s_codes, s_vals, lines_of, file, ctx)
    dup = np.flatnonzero((s_codes >= 0) & pd.Series(s_codes).duplicated().to_numpy())
    if dup.size:
        report.add_rows(
            file,
            lines_of(dup),
            "sample_id",
            "duplicate-measurement",
            [f"sample {s_vals[s_codes[r]]!r} appears in more than one row" for r in dup[:60]]
            + [""] * max(0, dup.size - 60),
        )
    parts_s, parts_f, parts_v, parts_u = [], [], [], []
    all_lines = lines_of(np.arange(n))
    for c, k in feature_cols:
        col = data.column(c)
        if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
            v = col.to_numpy().astype(np.float64, copy=False)
        elif pa.types.is_null(col.type):
            v = np.full(n, np.nan)
        else:
            v = check_numeric(
                col.to_pandas(), all_lines, file=file, column=c, report=report
            ).to_numpy(dtype=float)
        unit = overrides.get(k, fi.units[k])
        ucode = sym_idx.get(unit, sym_idx.get(fi.units[k], 0))
        factor = (
            np.full(n, protocol.convert(1.0, unit, fi.units[k])) if unit != fi.units[k] else None
        )
        _check_values(
            v,
            np.full(n, k, np.int32),
            factor,
            fi,
            lines_of,
            file,
            lambda rows, c=c: c,
            report,
            present=np.array([k]),
        )
        keep = ~np.isnan(v)
        parts_s.append(s_codes[keep])
        parts_f.append(np.full(int(keep.sum()), k, np.int32))
        parts_v.append(v[keep])
        parts_u.append(np.full(int(keep.sum()), ucode, np.int32))
    if not parts_s:
        return _clean(
            np.empty(0, np.int32),
            s_vals,
            assay.id,
            np.empty(0, np.int32),
            fi,
            np.empty(0),
            np.empty(0, np.int32),
            unit_syms,
        )
    return _clean(
        np.concatenate(parts_s),
        s_vals,
        assay.id,
        np.concatenate(parts_f),
        fi,
        np.concatenate(parts_v),
        np.concatenate(parts_u),
        unit_syms,
    )


def _unit_overrides(
    entry: AssayFile, fi: FeatureIndex, protocol: Protocol, report: ValidationReport, ctx: Context
) -> dict[int, str]:
    out: dict[int, str] = {}
    for name, sym in entry.units.items():
        line = ctx.manifest_line(name)
        k = fi.find(name)
        if k < 0:
            report.add(
                MANIFEST,
                line,
                f"units.{name}",
                "feature-unknown",
                f"unit override for unknown feature {name!r} ({entry.file})",
                allowed=fi.ids,
            )
            continue
        u = _unit_info(protocol, sym)
        if u is None:
            report.add(
                MANIFEST,
                line,
                f"units.{name}",
                "unit-unknown",
                f"unknown unit {sym!r}",
                allowed=_compatible_units(protocol, fi.units[k]),
            )
            continue
        fu = protocol.unit(fi.units[k])
        if fu is not None and u.dimension != fu.dimension:
            report.add(
                MANIFEST,
                line,
                f"units.{name}",
                "unit-incompatible",
                f"unit {u.symbol!r} cannot measure {fi.ids[k]} (protocol unit {fu.symbol!r})",
                allowed=_compatible_units(protocol, fi.units[k]),
            )
            continue
        out[k] = u.symbol
    return out
