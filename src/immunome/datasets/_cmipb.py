"""``import_cmipb``: the CMI-PB pertussis-booster data → two submission bundles → ``store.submit``.

Sites: ``CMIPB2020`` (training cohort, every timepoint that exists) and ``CMIPB2021`` (prediction
cohort, day 0 only — as published for the challenge). Each bundle holds participants, samples
and wide tables for ``antibody_titer_mfi`` (raw MFI), ``cytof_pbmc``, ``olink`` and ``rnaseq``.

RNA-seq is large (58k genes × 5 days): by default only the CMI-PB task genes plus the
``rnaseq_genes`` most variable genes of 2020 day 0 (by variance of log1p TPM) are imported;
``rnaseq_genes=None`` imports every gene (slow).

Example:
    >>> from immunome.datasets import import_cmipb
    >>> report = import_cmipb("my-store", "../shared/data/cmipb")  # doctest: +SKIP
    >>> report.sites["CMIPB2021"]["participants"]  # doctest: +SKIP
    36
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from immunome.errors import DatasetError

SITES = {"2020": "CMIPB2020", "2021": "CMIPB2021"}
ASSAY_FILES = {  # assay id → file stem in cmipb/full
    "antibody_titer_mfi": "abtiters.mfi_raw",
    "cytof_pbmc": "cytof",
    "olink": "olink",
    "rnaseq": "2022-01-07.rnaseq",
}
TASK_GENES = {
    "CCL3": "ENSG00000277632",
    "IL-6": "ENSG00000136244",
    "NFKBIA": "ENSG00000100906",
    "XIST": "ENSG00000229807",
}
CITATION = (
    "CMI-PB Consortium. Computational Models of Immunity — Pertussis Boost (CMI-PB), Cell Reports Methods "
    "2024; Shinde P et al., PLoS Comput Biol 2025. Data: github.com/CMI-PB/cmi-pb-multiomics "
    "dca7f5c6a8068ae9991124a70527f86bd89592a7."
)
RACE_FIXES = {"American Indian/Alaska Native": "American Indian or Alaska Native"}
DECISIONS = [
    "site = cohort year (CMIPB2020 training, CMIPB2021 prediction); batch = cohort year",
    "participant_id = CMI-PB subject_id; age = years from year_of_birth to date_of_boost (dates are not submitted)",
    "sample_id = <subject>_d<day>; day = the planned day relative to the boost from the pivoted file name",
    "antibody titers: raw MFI files (abtiters.mfi_raw.*); the normalised variant is not submitted",
    "rnaseq: task genes + the N most variable genes of 2020 day 0 (default N=200); rnaseq_genes=None = all genes",
    "features the protocol does not declare are dropped and listed in the report; when two source columns name "
    "one protocol feature (2021 cytof CD3CD19neg and CD19-CD3-) the first is kept",
    "race 'American Indian/Alaska Native' (2021 files) is submitted as 'American Indian or Alaska Native'",
]
_FILE = re.compile(r"^(?P<stem>.+)\.(?P<year>20\d\d)\.day(?P<day>\d+)\.pivoted\.tsv(\.gz)?$")


@dataclass
class CmipbImportReport:
    """What was imported: per-site counts, submission results, dropped features and decisions."""

    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    dropped_features: dict[str, list[str]] = field(default_factory=dict)
    decisions: list[str] = field(default_factory=lambda: list(DECISIONS))
    citation: str = CITATION

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "sites": self.sites,
            "dropped_features": self.dropped_features,
            "decisions": self.decisions,
            "citation": self.citation,
        }

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        import json

        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def to_text(self) -> str:
        """Human-readable summary (one line per site, then dropped features)."""
        lines = ["CMI-PB import"]
        for site, v in self.sites.items():
            lines.append(
                f"  {site}: {v.get('status', '?')}, {v['participants']} participants, "
                f"{v['samples']} samples, days {v['days']}"
            )
        lines += [f"  dropped {a}: {', '.join(f)}" for a, f in self.dropped_features.items() if f]
        return "\n".join(lines)

    def summary(self) -> str:
        """Same as :meth:`to_text`."""
        return self.to_text()

    def __str__(self) -> str:
        return self.to_text()


def _read(p: Path) -> pd.DataFrame:
    t = pd.read_csv(p, sep="\t")
    return t.drop(columns=[c for c in t.columns if c == "" or c.startswith("Unnamed")])


def read_participants(data_dir: Path, year: str) -> pd.DataFrame:
    """One row per subject: participant_id, age, sex, race, ethnicity, infancy_vaccine."""
    p = data_dir / "full" / f"meta.{year}.pivoted.tsv"
    if not p.is_file():
        raise DatasetError(f"{p}: missing CMI-PB metadata file")
    m = _read(p).drop_duplicates("subject_id")
    boost = pd.to_datetime(m["date_of_boost"])
    born = pd.to_datetime(m["year_of_birth"])
    return pd.DataFrame(
        {
            "participant_id": m["subject_id"].astype(int).astype(str),
            "age": ((boost - born).dt.days / 365.25).round(2),
            "sex": m["biological_sex"],
            "race": m["race"].replace(RACE_FIXES),
            "ethnicity": m["ethnicity"],
            "infancy_vaccine": m["infancy_vac"],
        }
    ).reset_index(drop=True)


def list_files(data_dir: Path, assay: str, year: str) -> dict[int, Path]:
    """day → pivoted file of ``assay`` for cohort ``year``."""
    out = {}
    for p in sorted((data_dir / "full").glob(f"{ASSAY_FILES[assay]}.{year}.day*.pivoted.tsv*")):
        m = _FILE.match(p.name)
        if m and m["stem"] == ASSAY_FILES[assay]:
            out[int(m["day"])] = p
    return out


def select_genes(data_dir: Path, n: int | None) -> list[str] | None:
    """Task genes + the ``n`` most variable genes (log1p TPM) of 2020 day 0; None = all genes."""
    if n is None:
        return None
    day0 = list_files(data_dir, "rnaseq", "2020").get(0)
    if day0 is None:
        return list(TASK_GENES.values())
    t = pd.read_csv(day0, sep="\t", index_col=0)
    t.columns = [c.split(".")[0] for c in t.columns]
    var = np.log1p(t.clip(lower=0)).var().sort_values(ascending=False, kind="stable")
    return list(dict.fromkeys(list(TASK_GENES.values()) + var.index[:n].tolist()))


def _gene_filter(genes: list[str]):
    wanted = set(genes) | {"subject_id"}
    return lambda c: c.split(".")[0] in wanted


def read_assay(
    data_dir: Path, assay: str, year: str, *, genes: list[str] | None = None
) -> pd.DataFrame:
    """Wide table: sample_id, participant_id, day, then one column per source feature."""
    frames = []
    for day, p in list_files(data_dir, assay, year).items():
        if assay == "rnaseq" and genes is not None:
            t = pd.read_csv(p, sep="\t", usecols=_gene_filter(genes), engine="c")
        else:
            t = pd.read_csv(p, sep="\t")
        t = t.rename(columns={t.columns[0]: "participant_id"})
        if assay == "rnaseq":
            t.columns = ["participant_id"] + [c.split(".")[0] for c in t.columns[1:]]
        t["participant_id"] = t["participant_id"].astype(int).astype(str)
        t.insert(1, "day", day)
        frames.append(t)
    if not frames:
        return pd.DataFrame(columns=["sample_id", "participant_id", "day"])
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "sample_id", out["participant_id"] + "_d" + out["day"].astype(str))
    return out


def _protocol_columns(assay_id: str, columns: list[str]) -> tuple[list[str], list[str]]:
    from immunome.protocol import load_protocol

    assay = next(a for a in load_protocol("global-immunome-study").assays if a.id == assay_id)
    if assay.open_features:
        return columns, []
    keep, seen = [], set()
    for c in columns:
        f = assay.feature(c)
        if (
            f is not None and f.id not in seen
        ):  # two source columns naming one feature: keep the first
            keep.append(c)
            seen.add(f.id)
    return keep, [c for c in columns if c not in keep]


def _visit(day: int) -> str:
    names = {0: "baseline", 1: "day1", 3: "day3", 7: "day7", 14: "day14", 30: "day30", 90: "day90"}
    return names.get(day, "")


def write_bundle(
    data_dir: Path, year: str, out: Path, report: CmipbImportReport, *, genes: list[str] | None
) -> Path:
    """Write the bundle of cohort ``year`` into ``out`` and return it."""
    out.mkdir(parents=True, exist_ok=True)
    parts = read_participants(data_dir, year)
    samples, assays = [], []
    for assay in ASSAY_FILES:
        wide = read_assay(data_dir, assay, year, genes=genes if assay == "rnaseq" else None)
        if wide.empty:
            continue
        feats = [c for c in wide.columns if c not in ("sample_id", "participant_id", "day")]
        keep, dropped = _protocol_columns(assay, feats)
        report.dropped_features.setdefault(assay, [])
        report.dropped_features[assay] = sorted(set(report.dropped_features[assay]) | set(dropped))
        fname = f"{assay}.csv"
        wide[["sample_id"] + keep].to_csv(out / fname, index=False, na_rep="NA")
        assays.append({"file": fname, "assay": assay, "layout": "wide"})
        samples.append(wide[["sample_id", "participant_id", "day"]])
    s = pd.concat(samples).drop_duplicates("sample_id").sort_values(["participant_id", "day"])
    s = s[s["participant_id"].isin(parts["participant_id"])]
    s["visit"] = s["day"].map(_visit)
    s["batch"] = year
    s.to_csv(out / "samples.csv", index=False, na_rep="NA")
    parts.to_csv(out / "participants.csv", index=False, na_rep="NA")
    manifest = {
        "format": "immunome-bundle/1",
        "site": SITES[year],
        "protocol": "global-immunome-study",
        "protocol_version": 1,
        "description": f"CMI-PB {year} cohort (Tdap booster). {CITATION}",
        "participants": "participants.csv",
        "samples": "samples.csv",
        "assays": assays,
    }
    (out / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    report.sites[SITES[year]] = {
        "participants": int(len(parts)),
        "samples": int(len(s)),
        "days": sorted(int(d) for d in s["day"].unique()),
    }
    return out


def import_cmipb(
    store: Any,
    data_dir: str | Path,
    *,
    work_dir: str | Path | None = None,
    rnaseq_genes: int | None = 200,
) -> CmipbImportReport:
    """Build the 2020 and 2021 bundles and submit both through the normal submission path.

    ``data_dir`` is the CMI-PB mirror folder (``…/cmipb``) or the data root holding it.
    With ``work_dir`` the bundles are kept in ``<work_dir>/CMIPB2020`` and ``<work_dir>/CMIPB2021``
    (e.g. to predict the 2021 cohort with ``immunome model predict``); otherwise a temporary folder is used.
    """
    data_dir = Path(data_dir)
    if (data_dir / "cmipb" / "full").is_dir():  # the data root was given
        data_dir = data_dir / "cmipb"
    if not (data_dir / "full").is_dir():
        raise DatasetError(
            f"{data_dir}: not a CMI-PB mirror (no full/ folder)", allowed=["<mirror>/cmipb"]
        )
    if not hasattr(store, "submit"):
        from immunome.store import open_store

        store = open_store(store)
    report = CmipbImportReport()
    genes = select_genes(data_dir, rnaseq_genes)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(work_dir) if work_dir is not None else Path(tmp)
        for year in SITES:
            bundle = write_bundle(data_dir, year, root / SITES[year], report, genes=genes)
            result = store.submit(bundle)
            site = report.sites[SITES[year]]
            site["status"] = str(getattr(result, "status", result))
            site["submission_id"] = str(getattr(result, "submission_id", ""))
            site["bundle"] = str(bundle) if work_dir is not None else None
    return report


def read_tidy(
    data_dir: str | Path, year: str, *, genes: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cohort as the store would hold it, straight from the files (no store needed).

    Returns ``(tidy, participants)``: tidy has participant_id, site, day, assay, feature (protocol id),
    value; participants is indexed by participant_id.
    """
    from immunome.protocol import load_protocol

    data_dir = Path(data_dir)
    proto = {a.id: a for a in load_protocol("global-immunome-study").assays}
    frames = []
    for assay in ASSAY_FILES:
        wide = read_assay(data_dir, assay, year, genes=genes if assay == "rnaseq" else None)
        feats = [c for c in wide.columns if c not in ("sample_id", "participant_id", "day")]
        keep, _ = _protocol_columns(assay, feats)
        ids = {c: (proto[assay].feature(c).id if proto[assay].feature(c) else c) for c in keep}
        long = wide[["participant_id", "day", *keep]].melt(
            ["participant_id", "day"], var_name="feature"
        )
        long["feature"] = long["feature"].map(ids)
        long["assay"] = assay
        frames.append(long.dropna(subset=["value"]))
    tidy = pd.concat(frames, ignore_index=True)
    tidy["site"] = SITES[year]
    parts = read_participants(data_dir, year).set_index("participant_id")
    return tidy, parts
