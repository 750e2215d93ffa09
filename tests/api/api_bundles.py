"""Generate small, valid submission bundles (synthetic; unit/integration fixtures only)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

FEATURES = ["T_cells", "CD4_T_cells", "B_cells", "NK_cells", "Monocytes"]
RACES = ["White", "Asian", "Black or African American"]


def people(site: str, *, female: int, male: int, seed: int) -> list[tuple[str, str, float, str]]:
    """``(participant_id, sex, age, race)`` rows: ``female`` women then ``male`` men."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(female + male):
        sex = "female" if i < female else "male"
        out.append((f"{site}-{i:03d}", sex, float(rng.integers(20, 80)), RACES[i % len(RACES)]))
    return out


def write_bundle(
    root: Path, *, site: str, rows: list[tuple[str, str, float, str]], seed: int, shift: float = 0.0
) -> Path:
    """Write a bundle folder (manifest, participants, samples, CyTOF wide table) and return it."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.yaml").write_text(
        "format: immunome-bundle/1\n"
        f"site: {site}\n"
        "protocol: global-immunome-study\nprotocol_version: 1\n"
        "participants: participants.csv\nsamples: samples.csv\n"
        "assays:\n  - file: cytof_pbmc.csv\n    assay: cytof_pbmc\n    layout: wide\n"
    )
    p = ["participant_id,age,sex,race"] + [
        f"{pid},{age:.0f},{sex},{race}" for pid, sex, age, race in rows
    ]
    (root / "participants.csv").write_text("\n".join(p) + "\n")
    s = ["sample_id,participant_id,day,visit"]
    c = ["sample_id," + ",".join(FEATURES)]
    for pid, *_ in rows:
        for day, visit in ((0, "baseline"), (7, "day7")):
            sid = f"{pid}-D{day}"
            s.append(f"{sid},{pid},{day},{visit}")
            t = rng.uniform(40, 70) + shift
            vals = [
                t,
                t * rng.uniform(0.4, 0.7),
                rng.uniform(5, 15),
                rng.uniform(5, 20),
                rng.uniform(10, 30),
            ]
            c.append(sid + "," + ",".join(f"{v:.2f}" for v in vals))
    (root / "samples.csv").write_text("\n".join(s) + "\n")
    (root / "cytof_pbmc.csv").write_text("\n".join(c) + "\n")
    return root


def zip_dir(folder: Path, dest: Path) -> Path:
    """Zip a bundle folder (files at the zip root)."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)
    return dest
