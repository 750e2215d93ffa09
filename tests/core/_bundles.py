"""Generate small, valid submission bundles for release/Cohort unit tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

CYTOKINES = ["il6", "tnf", "ifng"]


def make_bundle(
    root: Path,
    *,
    site: str = "SITE01",
    n: int = 12,
    seed: int = 0,
    unit: str = "pg/mL",
    visits: tuple[int, ...] = (0, 7),
) -> Path:
    """A bundle with ``n`` participants, one sample per visit, 3 cytokines in long layout."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    ids = [f"{site}-P{i:03d}" for i in range(n)]
    pd.DataFrame(
        {
            "participant_id": ids,
            "age": rng.integers(20, 80, n),
            "sex": rng.choice(["female", "male"], n),
            "race": rng.choice(["White", "Asian", "Black or African American"], n),
        }
    ).to_csv(root / "participants.csv", index=False)
    samples = pd.DataFrame(
        [
            {"sample_id": f"{pid}-D{d}", "participant_id": pid, "day": d, "batch": "B1"}
            for pid in ids
            for d in visits
        ]
    )
    samples.to_csv(root / "samples.csv", index=False)
    rows = [
        {
            "sample_id": s,
            "feature": f,
            "value": round(float(rng.lognormal(2, 0.5)), 4),
            "unit": unit,
        }
        for s in samples["sample_id"]
        for f in CYTOKINES
    ]
    pd.DataFrame(rows).to_csv(root / "cytokines.csv", index=False)
    manifest = {
        "format": "immunome-bundle/1",
        "site": site,
        "protocol": "global-immunome-study",
        "protocol_version": 1,
        "participants": "participants.csv",
        "samples": "samples.csv",
        "assays": [{"file": "cytokines.csv", "assay": "multiplex_cytokines", "layout": "long"}],
    }
    (root / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return root
