"""Write real 10KIP CyTOF rows as per-site submission bundles (format ``immunome-bundle/1``).

Only the CyTOF table is used, so a real store can be built in seconds for integration tests.
Bundles go to a temporary folder (they hold raw subject accessions) and are submitted through
the ordinary ``store.submit`` path.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

META = ["study_accession", "subject_accession", "age", "gender", "race"]


def write_cytof_bundles(csv: Path, out: Path) -> dict[str, Path]:
    """One bundle folder per study (site) of the 10KIP CyTOF table; returns site → folder."""
    d = pd.read_csv(csv)
    feats = [c for c in d.columns if c not in META]
    bundles = {}
    for site, g in d.groupby("study_accession"):
        folder = out / str(site)
        folder.mkdir(parents=True, exist_ok=True)
        pid = g["subject_accession"].astype(str)
        pd.DataFrame({"participant_id": pid, "age": g["age"], "sex": g["gender"]}).to_csv(
            folder / "participants.csv", index=False
        )
        sid = pid + "-cytof"
        pd.DataFrame({"sample_id": sid, "participant_id": pid, "day": 0}).to_csv(
            folder / "samples.csv", index=False
        )
        wide = g[feats].copy()
        wide.insert(0, "sample_id", sid.to_numpy())
        wide.to_csv(folder / "cytof_pbmc.csv", index=False)
        manifest = {
            "format": "immunome-bundle/1",
            "site": str(site),
            "protocol": "global-immunome-study",
            "protocol_version": 1,
            "participants": "participants.csv",
            "samples": "samples.csv",
            "assays": [{"file": "cytof_pbmc.csv", "assay": "cytof_pbmc", "layout": "wide"}],
        }
        (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
        bundles[str(site)] = folder
    return bundles
