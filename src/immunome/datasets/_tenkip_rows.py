"""Turn one raw 10KIP table into per-row sample metadata plus protocol-keyed measurement cells.

Decisions (documented in ``docs/datasets.md``):

* site = ``study_accession``; participant = ``subject_accession`` within that site.
* one **sample per source row** (10KIP has no visit column): raw sample id
  ``<subject>-<table>-<k>`` where ``k`` counts that subject's rows in the table, in file order.
  HLA rows of one subject (one row per locus) form one genotype sample.
* ``day`` = whole days between the row's age and the participant's age at enrolment (the
  youngest age seen for that subject in that study, over all tables), 0 when unknown.
* source columns map to protocol features through the protocol's aliases; questionnaire answers
  are coded with the code lists in the protocol feature descriptions; HLA alleles become
  ``hla_<locus>_<digits>`` allele-dosage features.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from immunome.datasets._import_report import FileReport
from immunome.datasets._tenkip_read import DEMOGRAPHICS, RawTable, TableSpec, to_number
from immunome.protocol import Assay, Protocol

#: participant-level source columns beyond the demographics, as site extension fields
EXTRA_PARTICIPANT = {"ancestral_population": "x_ancestral_population"}
_CODE = re.compile(r"(\d+)=([^;]+)")


@dataclass
class SourceRows:
    """One source table, row-aligned: ``meta`` (one row per data row) and measurement cells."""

    spec: TableSpec
    report: FileReport
    meta: pd.DataFrame
    wide: dict[str, pd.DataFrame] = field(default_factory=dict)
    """assay → text cells indexed like ``meta``; columns are protocol feature ids."""
    long: dict[str, pd.DataFrame] = field(default_factory=dict)
    """assay → ``row, feature, value`` entries (HLA); ``row`` is a label of ``meta.index``."""
    source_column: dict[tuple[str, str], str] = field(default_factory=dict)
    """(assay, feature) → source column name, to report rejected cells by their real column."""

    def reject(self, labels: pd.Index | list[object], reason: str) -> None:
        """Mark rows (``meta`` index labels) rejected with ``reason`` unless already rejected."""
        idx = pd.Index(labels)
        fresh = idx[self.meta.loc[idx, "reject"].isna().to_numpy()]
        self.meta.loc[fresh, "reject"] = reason

    def by_site(self) -> dict[str, SourceRows]:
        """Split into one :class:`SourceRows` per site (copies; ``meta`` labels are kept)."""
        out: dict[str, SourceRows] = {}
        for site, pos in self.meta.groupby("site", sort=True).indices.items():
            meta = self.meta.iloc[pos].copy()
            out[str(site)] = SourceRows(
                spec=self.spec,
                report=self.report,
                meta=meta,
                wide={a: df.iloc[pos].copy() for a, df in self.wide.items()},
                long={
                    a: df[df["row"].isin(meta.index)].reset_index(drop=True)
                    for a, df in self.long.items()
                },
                source_column=self.source_column,
            )
        return out


def _meta(raw: RawTable, spec: TableSpec) -> pd.DataFrame:
    d = raw.data
    get = lambda c: d[c] if c in d.columns else pd.Series(None, index=d.index, dtype=object)  # noqa: E731
    meta = pd.DataFrame(
        {
            "line": d["_line"].to_numpy(),
            "site": get("study_accession"),
            "subject": get("subject_accession"),
            "age": to_number(get("age")),
            "sex": get("gender"),
            "race": get("race"),
        },
        index=d.index,
    )
    for src, dst in EXTRA_PARTICIPANT.items():
        if src in d.columns:
            meta[dst] = d[src]
    meta["reject"] = pd.Series(None, index=d.index, dtype=object)
    for pos, why in raw.bad_rows.items():
        meta.loc[d.index[pos], "reject"] = why
    meta.loc[meta["site"].isna(), "reject"] = "no study_accession (the site) in this row"
    meta.loc[meta["subject"].isna(), "reject"] = "no subject_accession in this row"
    return meta


def _route_columns(
    cols: list[str], assays: list[Assay], rep: FileReport
) -> dict[str, list[tuple[str, str]]]:
    """source column → [(assay id, feature id)] via protocol ids/aliases; others are reported."""
    routes: dict[str, list[tuple[str, str]]] = {}
    for c in cols:
        hits = [(a.id, f.id) for a in assays if (f := a.feature(c)) is not None]
        if hits:
            routes[c] = hits[:1]
        else:
            rep.columns_not_imported[c] = (
                f"not a feature of protocol assay(s) {', '.join(a.id for a in assays)} "
                "(free text or unknown); values in this column were not submitted"
            )
    return routes


def _codes(feature_description: str) -> dict[str, str]:
    return {label.strip().lower(): code for code, label in _CODE.findall(feature_description)}


def _questionnaire_value(values: pd.Series, assay: Assay, feature_id: str) -> pd.Series:
    f = assay.feature(feature_id)
    assert f is not None
    if f.value_type == "bool":
        mapping = {"yes": "1", "no": "0"}
    elif "coded answer" in f.description:
        mapping = _codes(f.description)
    else:
        return values
    low = values.str.strip().str.lower()
    return low.map(mapping).where(low.isin(mapping), values)


def wide_rows(raw: RawTable, spec: TableSpec, protocol: Protocol, rep: FileReport) -> SourceRows:
    """Rows of a wide 10KIP table (demographics + one column per measurement)."""
    meta = _meta(raw, spec)
    assays = [protocol.assay(a) for a in spec.assays]
    skip = set(DEMOGRAPHICS) | set(EXTRA_PARTICIPANT) | {"_line"} | set(spec.drop_columns)
    cols = [c for c in raw.data.columns if c not in skip]
    for c in spec.drop_columns:
        if c in raw.data.columns:
            vals = raw.data[c].dropna().unique().tolist()
            rep.columns_not_imported[c] = (
                f"unit column (values {vals[:5]}) — equals the protocol unit"
            )
    out = SourceRows(spec=spec, report=rep, meta=meta)
    for col, hits in _route_columns(cols, assays, rep).items():
        for assay_id, fid in hits:
            cells = raw.data[col]
            if spec.layout == "questionnaire":
                cells = _questionnaire_value(cells, protocol.assay(assay_id), fid)
            out.wide.setdefault(assay_id, pd.DataFrame(index=meta.index))[fid] = cells
            out.source_column[(assay_id, fid)] = col
    for a in assays:
        out.wide.setdefault(a.id, pd.DataFrame(index=meta.index))
    return out


_ALLELE = re.compile(r"^(?:[A-Za-z]+\d?\*|\*)?(\d{1,8}(?::\d{1,3})*)([A-Za-z]?)$")


def hla_feature(locus: str | None, allele: str | None) -> str | None:
    """``hla_<locus>_<digits>`` for one typed allele, or None if it is not an allele name.

    Leading zeros dropped by spreadsheets are restored (``401`` → ``0401``).

    Example:
        >>> hla_feature("HLA-DQB1", "*0602"), hla_feature("HLA-C", "Cw*04"), hla_feature("HLA-A", "-")
        ('hla_dqb1_0602', 'hla_c_04', None)
    """
    if not locus or not allele:
        return None
    m = _ALLELE.match(allele.strip())
    loc = locus.strip().lower().removeprefix("hla-").replace("-", "")
    if not m or not re.fullmatch(r"[a-z]+\d?", loc):
        return None
    digits = m.group(1).replace(":", "")
    if len(digits) % 2:
        digits = "0" + digits
    return f"hla_{loc}_{digits}{m.group(2).lower()}"


def hla_rows(raw: RawTable, spec: TableSpec, protocol: Protocol, rep: FileReport) -> SourceRows:
    """HLA rows (one per subject and locus) → allele-dosage entries of one genotype sample."""
    meta = _meta(raw, spec)
    d = raw.data
    entries: list[tuple[int, str, float]] = []
    blank = {"-", "--", "blank"}
    for idx, locus, a1, a2 in zip(
        d.index, d["locus_name"], d["allele_1"], d["allele_2"], strict=True
    ):
        if isinstance(meta.at[idx, "reject"], str):
            continue
        alleles = [None if a is None or a.strip().lower() in blank else a for a in (a1, a2)]
        feats = [hla_feature(locus, a) for a in alleles]
        bad = [a for a, f in zip(alleles, feats, strict=True) if a is not None and f is None]
        if bad:
            meta.at[idx, "reject"] = (
                f"[hla-allele] {bad[0]!r} at locus {locus!r} is not an HLA allele name"
            )
        elif not any(feats):
            meta.at[idx, "reject"] = "[hla-allele] no allele typed at this locus"
        else:
            for fid in sorted({f for f in feats if f}):
                entries.append((idx, fid, float(feats.count(fid))))
    rep.notes.append(
        "alleles written as hla_<locus>_<digits> allele dosage (copies, 0–2); '-' = not typed"
    )
    long = pd.DataFrame(entries, columns=["row", "feature", "value"])
    return SourceRows(spec=spec, report=rep, meta=meta, long={spec.assays[0]: long})


def source_rows(raw: RawTable, spec: TableSpec, protocol: Protocol, rep: FileReport) -> SourceRows:
    """Dispatch on the table layout."""
    if spec.layout == "hla":
        return hla_rows(raw, spec, protocol, rep)
    return wide_rows(raw, spec, protocol, rep)
