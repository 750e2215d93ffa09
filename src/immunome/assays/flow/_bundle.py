"""Write processed flow results as an ``immunome-bundle/1`` submission bundle."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import yaml

from immunome.assays.flow._process import FlowResult
from immunome.errors import FlowError, ImmunomeWarning
from immunome.protocol import DEFAULT_PROTOCOL, Assay, load_protocol

ROOT_POPULATION = "all_events"
PARTICIPANT_FIELDS = (
    "age", "sex", "race", "ethnicity", "cmv_serostatus", "smoking", "bmi", "infancy_vaccine",
    "vaccination_history",
)  # fmt: skip
SAMPLE_FIELDS = ("sample_id", "visit", "batch", "sample_type")
REQUIRED = ("file", "participant_id", "day")


def read_sample_sheet(path: str | Path) -> pd.DataFrame:
    """Read the sample sheet: ``file, participant_id, day`` plus optional sample/participant fields.

    Optional: ``sample_id`` (default: file stem), ``visit``, ``batch``, ``sample_type`` and the
    protocol participant fields (``age``, ``sex``, …); site extension columns start with ``x_``.

    Example:
        >>> read_sample_sheet("sheet.csv").columns.tolist()  # doctest: +SKIP
        ['file', 'participant_id', 'day', 'age', 'sex']
    """
    p = Path(path)
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise FlowError(f"{p}: cannot read sample sheet: {e}", file=str(p)) from e
    allowed = [*REQUIRED, *SAMPLE_FIELDS, *PARTICIPANT_FIELDS]
    for j, col in enumerate(df.columns, start=1):
        if col not in allowed and not col.startswith("x_"):
            raise FlowError(
                f"{p}:1:{j}: [unknown-column] sample sheet column {col!r}",
                allowed=[*allowed, "x_*"],
            )
    for col in REQUIRED:
        if col not in df.columns:
            raise FlowError(f"{p}:1: [missing-column] sample sheet needs column {col!r}")
        blank = df.index[df[col].str.strip() == ""]
        if len(blank):
            raise FlowError(
                f"{p}:{blank[0] + 2}:{list(df.columns).index(col) + 1}: [required] empty {col!r}"
            )
    return df


def _sheet_row(sheet: pd.DataFrame, res: FlowResult) -> pd.Series:
    name = Path(res.file).name
    hits = sheet[(sheet["file"] == res.file) | (sheet["file"].map(lambda f: Path(f).name) == name)]
    if hits.empty:
        raise FlowError(
            f"{res.file}: not listed in the sample sheet (column 'file')", file=res.file
        )
    return hits.iloc[0]


def feature_map(assay: Assay) -> dict[tuple[str, str], str]:
    """``(population, denominator) -> feature id`` for the assay's frequency features."""
    return {(f.population, f.denominator): f.id for f in assay.features if f.population}


def assay_rows(res: FlowResult, assay: Assay, sample_id: str) -> list[dict[str, object]]:
    """Long-layout rows (``sample_id, feature, value, unit``) of one result; % of parent."""
    fmap = feature_map(assay)
    rows, unmapped = [], []
    for r in res.populations.itertuples(index=False):
        denom = ROOT_POPULATION if r.parent == "root" else r.parent
        fid = fmap.get((r.population, denom))
        if fid is None:
            unmapped.append(f"{r.population} (of {denom})")
            continue
        rows.append(
            {"sample_id": sample_id, "feature": fid, "value": round(r.pct_parent, 6), "unit": "%"}
        )
    if unmapped:
        warnings.warn(
            f"{res.file}: gates without a feature in assay {assay.id!r} are not in the bundle: "
            f"{', '.join(unmapped)}",
            ImmunomeWarning,
            stacklevel=3,
        )
    if not rows:
        raise FlowError(
            f"{res.file}: no gate of template {res.template!r} maps to a feature of assay "
            f"{assay.id!r} (gate id = population, parent = denominator)",
            allowed=sorted(f"{p}/{d}" for p, d in fmap),
        )
    return rows


def _participants(rows: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "participant_id",
        *[c for c in rows.columns if c in PARTICIPANT_FIELDS or c.startswith("x_")],
    ]
    part = rows[cols].drop_duplicates()
    dup = part["participant_id"][part["participant_id"].duplicated()]
    if len(dup):
        raise FlowError(f"sample sheet: participant {dup.iloc[0]!r} has conflicting fields")
    return part


def write_bundle(
    results: Sequence[FlowResult],
    out: str | Path,
    *,
    sample_sheet: pd.DataFrame | str | Path,
    site: str,
    assay: str | None = None,
    protocol: str = DEFAULT_PROTOCOL,
    protocol_version: int | None = None,
    description: str = "",
) -> Path:
    """Write a bundle directory: manifest, participants, samples, assay table (long), QC table.

    Example:
        >>> write_bundle(results, "out", sample_sheet="sheet.csv", site="S01")  # doctest: +SKIP
    """
    if not results:
        raise FlowError("no processed FCS files to write into a bundle")
    sheet = (
        sample_sheet if isinstance(sample_sheet, pd.DataFrame) else read_sample_sheet(sample_sheet)
    )
    proto = load_protocol(protocol, protocol_version)
    assay_id = assay or results[0].assay
    if not assay_id:
        raise FlowError(
            "the template names no protocol assay; pass assay=…",
            allowed=[a.id for a in proto.assays if a.technology == "flow cytometry"],
        )
    spec = proto.assay(assay_id)
    samples, rows, qc = [], [], []
    for res in results:
        row = _sheet_row(sheet, res)
        sid = row.get("sample_id") or res.sample_id
        samples.append({**row.to_dict(), "sample_id": sid})
        rows.extend(assay_rows(res, spec, sid))
        qc.append(res.qc.assign(sample_id=sid, assay=assay_id))
    sdf = pd.DataFrame(samples)
    if sdf["sample_id"].duplicated().any():
        raise FlowError(
            f"duplicate sample id {sdf['sample_id'][sdf['sample_id'].duplicated()].iloc[0]!r}"
        )
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    _participants(sdf).to_csv(d / "participants.csv", index=False)
    scols = ["sample_id", "participant_id", "day", *[c for c in SAMPLE_FIELDS[1:] if c in sdf]]
    if "sample_type" not in sdf:
        sdf["sample_type"] = spec.sample_type
        scols.append("sample_type")
    sdf[scols].to_csv(d / "samples.csv", index=False)
    table = f"{assay_id}.csv"
    pd.DataFrame(rows).to_csv(d / table, index=False)
    pd.concat(qc)[["sample_id", "assay", "metric", "value", "flag"]].to_csv(
        d / "flow_qc.csv", index=False
    )
    manifest = {
        "format": "immunome-bundle/1",
        "site": site,
        "protocol": proto.id,
        "protocol_version": proto.version,
        "description": description or f"flow cytometry, template {results[0].template}",
        "participants": "participants.csv",
        "samples": "samples.csv",
        "assays": [{"file": table, "assay": assay_id, "layout": "long"}],
        "qc": [{"file": "flow_qc.csv"}],
    }
    (d / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return d
