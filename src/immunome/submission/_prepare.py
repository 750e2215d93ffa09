"""Validate a bundle end to end and produce clean tables ready for ingestion."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from immunome.errors import ProtocolError
from immunome.protocol import Protocol, load_protocol, protocol_from_path
from immunome.submission._bundle import Bundle, read_bundle
from immunome.submission._manifest import MANIFEST, Manifest
from immunome.submission._measurements import LONG_TYPES, Context, check_long, check_wide
from immunome.submission._participants import check_participants
from immunome.submission._qc import check_qc
from immunome.submission._report import ValidationReport
from immunome.submission._samples import check_samples
from immunome.submission._tables import Table, read_table


@dataclass
class PreparedSubmission:
    """A validated bundle: its report, identity and clean tables (raw IDs, not yet pseudonymised).

    ``measurements`` is a long Arrow table ``sample_id, assay, feature, value, unit`` with
    dictionary-encoded text (call ``.to_pandas()`` for a DataFrame); features are canonical
    protocol ids and units canonical protocol symbols; values are as submitted.
    """

    report: ValidationReport
    manifest: Manifest | None
    protocol: Protocol | None
    content_sha256: str
    participants: pd.DataFrame | None = None
    samples: pd.DataFrame | None = None
    measurements: pa.Table | None = None
    qc: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        """True when the bundle has no error."""
        return self.report.ok


def _line_of_text(text: str, needle: str) -> int | None:
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return i
    return None


def _resolve_protocol(
    bundle: Bundle, protocol: Protocol | str | Path | None, report: ValidationReport
) -> Protocol | None:
    m = bundle.manifest
    assert m is not None
    line = _line_of_text(bundle.manifest_text, "protocol_version")
    if protocol is None:
        try:
            return load_protocol(m.protocol, m.protocol_version)
        except ProtocolError as e:
            report.add(
                MANIFEST,
                line,
                "protocol_version",
                "protocol",
                e.message,
                allowed=[str(a) for a in (e.allowed or [])],
            )
            return None
    p = protocol if isinstance(protocol, Protocol) else protocol_from_path(protocol)
    if (p.id, p.version) != (m.protocol, m.protocol_version):
        report.add(
            MANIFEST,
            line,
            "protocol_version",
            "protocol",
            f"bundle declares {m.protocol} v{m.protocol_version} but validation uses "
            f"{p.id} v{p.version}",
            allowed=[f"{p.id} v{p.version}"],
        )
        return None
    return p


def _file(bundle: Bundle, name: str, report: ValidationReport, what: str):
    bf = bundle.file(name)
    if bf is None:
        report.add(
            MANIFEST,
            _line_of_text(bundle.manifest_text, name),
            what,
            "file-missing",
            f"{what} file {name!r} is not in the bundle",
            allowed=sorted(n for n in bundle.files if n != MANIFEST),
        )
    return bf


def prepare_submission(
    bundle: str | Path | Bundle, *, protocol: Protocol | str | Path | None = None
) -> PreparedSubmission:
    """Read, validate and clean a bundle; never raises for data problems (see ``.report``).

    Raises :class:`~immunome.errors.UnusableInputError` when the input cannot be read at all.

    Example:
        >>> from immunome.submission import example_bundle_path
        >>> prep = prepare_submission(example_bundle_path())
        >>> prep.ok, list(prep.measurements.column_names)
        (True, ['sample_id', 'assay', 'feature', 'value', 'unit'])
    """
    b = bundle if isinstance(bundle, Bundle) else read_bundle(bundle)
    report = b.issues
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(b.content_sha256)
        prep = _prepare(b, protocol, report)
        prep.content_sha256 = report.content_sha256 = digest.result()
    report.finish()
    return prep


def _prepare(b: Bundle, protocol, report: ValidationReport) -> PreparedSubmission:
    out = PreparedSubmission(report=report, manifest=b.manifest, protocol=None, content_sha256="")
    m = b.manifest
    if m is None:
        return out
    p = out.protocol = _resolve_protocol(b, protocol, report)
    if p is None:
        return out
    named = set(m.files()) | {MANIFEST}
    for extra in sorted(set(b.files) - named):
        report.add(
            extra,
            None,
            None,
            "unused-file",
            "file is not named in manifest.yaml and is ignored",
            severity="warning",
        )

    ptables: list[Table] = []
    for name in m.participant_files:
        bf = _file(b, name, report, "participants")
        numeric = {
            f.name: pa.float64() for f in p.participant_fields if f.value_type in ("float", "int")
        }
        if bf is not None and (t := read_table(bf, report, types=numeric)) is not None:
            ptables.append(t)
    out.participants = check_participants(ptables, p, report) if ptables else None
    pids = (
        set(out.participants["participant_id"].dropna()) if out.participants is not None else None
    )

    bf = _file(b, m.samples, report, "samples")
    st = read_table(bf, report, types={"day": pa.float64()}) if bf is not None else None
    out.samples = check_samples(st, p, pids, report) if st is not None else None
    sids = set(out.samples["sample_id"].dropna()) if out.samples is not None else None

    ctx = Context(protocol=p, sample_ids=sids, report=report, manifest_text=b.manifest_text)
    parts: list[pa.Table] = []
    for i, entry in enumerate(m.assays):
        try:
            assay = p.assay(entry.assay)
        except ProtocolError as e:
            report.add(
                MANIFEST,
                _line_of_text(b.manifest_text, f"assay: {entry.assay}"),
                f"assays.{i}.assay",
                "assay-unknown",
                e.message,
                allowed=e.allowed,
            )
            continue
        bf = _file(b, entry.file, report, f"assays.{i}")
        if bf is None:
            continue
        if entry.layout == "long":
            t = read_table(bf, report, types=LONG_TYPES)
            clean = check_long(t, entry, assay, ctx) if t is not None else None
        else:
            t = read_table(bf, report, types={"sample_id": pa.string()}, default=pa.float64())
            clean = check_wide(t, entry, assay, ctx) if t is not None else None
        if clean is not None:
            parts.append(clean)
    if parts:
        out.measurements = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
        _cross_table_duplicates(m, parts, report)

    qcs = []
    for entry in m.qc:
        bf = _file(b, entry.file, report, "qc")
        t = read_table(bf, report) if bf is not None else None
        if t is not None and (q := check_qc(t, p, sids, report)) is not None:
            qcs.append(q)
    out.qc = pd.concat(qcs, ignore_index=True) if qcs else None
    return out


def _cross_table_duplicates(m: Manifest, parts: list[pa.Table], report: ValidationReport) -> None:
    by_assay: dict[str, list[int]] = {}
    for i, e in enumerate(m.assays[: len(parts)]):
        by_assay.setdefault(e.assay, []).append(i)
    for assay, idx in by_assay.items():
        if len(idx) < 2:
            continue
        frames = [parts[i].select(["sample_id", "feature"]).to_pandas().astype(str) for i in idx]
        df = pd.concat(frames, ignore_index=True)
        n = int(df.duplicated().sum())
        if n:
            report.add(
                m.assays[idx[-1]].file,
                None,
                "feature",
                "duplicate-measurement",
                f"{n} (sample, feature) pairs of assay {assay!r} also appear in another file",
            )


def validate_bundle(
    path: str | Path | Bundle, *, protocol: Protocol | str | Path | None = None
) -> ValidationReport:
    """Validate a bundle and return its :class:`ValidationReport` (writes nothing).

    Example:
        >>> from immunome.submission import example_bundle_path
        >>> validate_bundle(example_bundle_path()).ok
        True
    """
    return prepare_submission(path, protocol=protocol).report
