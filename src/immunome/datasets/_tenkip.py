"""``import_10kip``: every 10KIP table → one bundle per ImmPort study (site) → ``store.submit``.

Example:
    >>> from immunome.datasets import import_10kip
    >>> report = import_10kip("my-store", "/data/mirror")  # doctest: +SKIP
    >>> report.balanced  # doctest: +SKIP
    True
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from immunome.datasets._fetch import sha256_file
from immunome.datasets._import_report import ImportReport
from immunome.datasets._registry import get_dataset
from immunome.datasets._tenkip_bundle import EmptySite, SiteBundle
from immunome.datasets._tenkip_read import (
    DEMOGRAPHICS,
    DOCUMENTATION_FILES,
    TABLES,
    dataset_root,
    read_10kip_table,
    table_spec,
)
from immunome.datasets._tenkip_rows import SourceRows, source_rows
from immunome.errors import DatasetError, ImmunomeError
from immunome.protocol import Protocol, load_protocol

DECISIONS = [
    "site = ImmPort study_accession; one bundle per site holding every 10KIP table of that study",
    "one sample per source row (10KIP has no visit column); raw sample id <subject>-<table>-<k>, k = the "
    "subject's k-th row in that table in file order; HLA rows of a subject form one genotype sample",
    "day = round((row age - enrolment age) * 365.25), enrolment age = youngest age of the subject in that "
    "study over all tables; 0 when the row has no age; visit left empty",
    "participant sex/race: most frequent informative value over the subject's rows in that study "
    "('Not Specified'/'Unknown' lose to a real value); disagreements listed in participant_conflicts",
    "submission source: *_formatted.csv / raw tables only; *_normalized.csv are 10KIP's batch-corrected "
    "reference values (see load_10kip_normalized) and are not submitted",
    "bad cells (out of hard range, not a number) are dropped with the validator's reason; the rest of the "
    "row lands; a row whose every value is dropped, or whose sample/participant is invalid, is rejected",
]


def _open_store(store: Any):
    if hasattr(store, "submit"):
        return store
    from immunome.store import open_store

    return open_store(store)


def _check_file(ds, root: Path, rel: str, verify: bool) -> str:
    p = root / rel
    if not p.is_file():
        raise DatasetError(f"{p}: missing 10KIP file", allowed=[f.path for f in ds.files])
    got = sha256_file(p)
    if verify:
        pinned = ds.file(rel).sha256
        if got != pinned:
            raise DatasetError(
                f"{p}: sha256 mismatch: got {got}, pinned {pinned}", expected=pinned, got=got
            )
    return got


def read_sources(
    root: Path, protocol: Protocol, report: ImportReport, *, verify: bool = True
) -> list[SourceRows]:
    """Read every 10KIP table into :class:`SourceRows`, registering each file in ``report``."""
    ds = get_dataset("10kip")
    tables: list[SourceRows] = []
    for spec in TABLES:
        sha = _check_file(ds, root, spec.path, verify)
        fr = report.add_file(spec.path, sha, "submitted")
        raw = read_10kip_table(root / spec.path)
        fr.notes.extend(raw.notes)
        fr.rows_read = len(raw.data)
        tables.append(source_rows(raw, spec, protocol, fr))
        if spec.normalized:
            nsha = _check_file(ds, root, spec.normalized, verify)
            report.add_file(spec.normalized, nsha, "reference").notes.append(
                "10KIP's own cross-study batch correction; not submitted (load_10kip_normalized)"
            )
    for rel in DOCUMENTATION_FILES:
        report.add_file(rel, _check_file(ds, root, rel, verify), "documentation").notes.append(
            "questionnaire code book (labels used in the protocol's questionnaire assay)"
        )
    return tables


def _account(
    tables: list[SourceRows], per_site: dict[str, dict[int, SourceRows]], failed: dict[str, str]
) -> None:
    """Final per-row accounting: a row landed iff it is live in a site that was ingested."""
    for i, t in enumerate(tables):
        parts = [t.meta.loc[t.meta["site"].isna()]]
        cells = 0
        for site, subs in per_site.items():
            if i not in subs:
                continue
            sub = subs[i]
            m = sub.meta
            if site in failed:
                m.loc[m["reject"].isna().to_numpy(), "reject"] = (
                    f"site {site} not ingested: {failed[site]}"
                )
            parts.append(m)
            ok = m.index[m["reject"].isna().to_numpy()]
            cells += sum(int(df.loc[ok].notna().sum().sum()) for df in sub.wide.values())
            cells += sum(int(df["row"].isin(ok).sum()) for df in sub.long.values())
        m = pd.concat(parts).sort_index()
        fr = t.report
        for line, reason, site in zip(m["line"], m["reject"], m["site"], strict=True):
            if isinstance(reason, str):
                fr.reject_row(int(line), reason, site=site if isinstance(site, str) else None)
        fr.rows_landed = int(m["reject"].isna().sum())
        fr.cells_landed = cells


def import_10kip(
    store: Any,
    data_dir: str | Path,
    *,
    work_dir: str | Path | None = None,
    protocol: Protocol | None = None,
    verify: bool = True,
) -> Any:
    """Import every 10KIP table into ``store`` through ``store.submit``; return an :class:`ImportReport`.

    ``store`` is a :class:`~immunome.store.Store` or a path; ``data_dir`` a mirror root holding
    ``10kip/`` (or the ``10kip`` folder). Bundles are written under ``work_dir`` (kept) or a
    temporary folder (deleted: bundles hold raw subject accessions). ``verify`` checks each file's
    pinned sha256.
    """
    st = _open_store(store)
    proto = protocol or load_protocol()
    ds = get_dataset("10kip")
    root = dataset_root(data_dir)
    report = ImportReport(
        dataset="10kip",
        commit=ds.repositories["main"].commit,
        store=str(getattr(st, "path", st)),
        protocol=f"{proto.id} v{proto.version}",
        decisions=list(DECISIONS),
    )
    tables = read_sources(root, proto, report, verify=verify)
    sites = sorted({s for t in tables for s in t.meta["site"].dropna().unique()})
    failed: dict[str, str] = {}
    split = [t.by_site() for t in tables]
    per_site: dict[str, dict[int, SourceRows]] = {
        site: {i: parts[site] for i, parts in enumerate(split) if site in parts} for site in sites
    }
    with tempfile.TemporaryDirectory(prefix="immunome-10kip-") as tmp:
        base = Path(work_dir) if work_dir is not None else Path(tmp)
        for site in sites:
            sb = SiteBundle(
                site=site, tables=list(per_site[site].values()), protocol=proto, folder=base / site
            )
            try:
                res = sb.prescreen(lambda folder: st.submit(folder, protocol=proto))
                if res.report is not None:
                    sb.warnings.update(i.rule for i in res.report.warnings)
            except EmptySite as e:
                report.sites.append(_site_report(site, "empty", sb, message=str(e)))
                report.participant_conflicts.extend(sb.conflicts)
                continue
            except ImmunomeError as e:
                failed[site] = str(e).splitlines()[0][:300]
                report.sites.append(_site_report(site, "failed", sb, message=failed[site]))
                continue
            report.participant_conflicts.extend(sb.conflicts)
            report.sites.append(_site_report(site, res.status, sb, res=res))
    _account(tables, per_site, failed)
    return report


def _site_report(site: str, status: str, sb: SiteBundle, *, res: Any = None, message: str = ""):
    from immunome.datasets._import_report import SiteReport

    return SiteReport(
        site=site,
        status=status,
        submission_id=getattr(res, "submission_id", None),
        n_participants=getattr(res, "n_participants", 0),
        n_samples=getattr(res, "n_samples", 0),
        n_measurements=getattr(res, "n_measurements", 0),
        validation_rounds=sb.rounds,
        warnings=dict(sb.warnings),
        message=message,
    )


def load_10kip_normalized(
    data_dir: str | Path, table: str, *, protocol: Protocol | None = None
) -> pd.DataFrame:
    """10KIP's own batch-corrected values of ``table`` as a tidy frame keyed like the raw import.

    Columns: ``site, subject_accession, raw_sample_id, source_line, assay, feature, value`` —
    ``raw_sample_id`` is the id :func:`import_10kip` submits for the matching raw row (before
    pseudonymisation; the store maps it with its key), matched by the subject's k-th row, or by
    the R row number where the normalised file has one. ``feature`` is the protocol feature id.

    Example:
        >>> df = load_10kip_normalized(mirror, "cytof_pbmc")  # doctest: +SKIP
        >>> df.columns.tolist()  # doctest: +SKIP
        ['site', 'subject_accession', 'raw_sample_id', 'source_line', 'assay', 'feature', 'value']
    """
    spec = table_spec(table)
    if spec.normalized is None:
        raise DatasetError(
            f"10KIP table {table!r} has no normalised version",
            allowed=[t.key for t in TABLES if t.normalized],
        )
    proto = protocol or load_protocol()
    root = dataset_root(data_dir)
    norm = read_10kip_table(root / spec.normalized).data
    raw = read_10kip_table(root / spec.path).data
    key = raw.groupby(["study_accession", "subject_accession"], sort=False).cumcount() + 1
    raw_sid = raw["subject_accession"].astype(str) + f"-{spec.key}-" + key.astype(str)
    if "" in norm.columns:  # R row names = 1-based row of the formatted table
        pos = pd.to_numeric(norm[""], errors="coerce").astype("Int64") - 1
        norm = norm.drop(columns=[""])
        sid = pos.map(
            lambda p: raw_sid.iloc[int(p)] if pd.notna(p) and 0 <= p < len(raw_sid) else None
        )
        line = pos.map(
            lambda p: int(raw["_line"].iloc[int(p)]) if pd.notna(p) and 0 <= p < len(raw) else None
        )
    else:
        k = norm.groupby(["study_accession", "subject_accession"], sort=False).cumcount() + 1
        sid = norm["subject_accession"].astype(str) + f"-{spec.key}-" + k.astype(str)
        line = pd.Series([None] * len(norm), index=norm.index)
        lines = dict(zip(raw_sid, raw["_line"], strict=True))
        line = sid.map(lines)
    assays = [proto.assay(a) for a in spec.assays]
    value_cols = [c for c in norm.columns if c not in (*DEMOGRAPHICS, "_line")]
    parts = []
    for c in value_cols:
        hit = next(((a.id, f.id) for a in assays if (f := a.feature(c)) is not None), None)
        if hit is None:
            continue
        parts.append(
            pd.DataFrame(
                {
                    "site": norm["study_accession"],
                    "subject_accession": norm["subject_accession"],
                    "raw_sample_id": sid,
                    "source_line": line,
                    "assay": hit[0],
                    "feature": hit[1],
                    "value": pd.to_numeric(norm[c], errors="coerce"),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    return out[out["value"].notna()].reset_index(drop=True)
