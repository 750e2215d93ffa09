"""The real-data contract: with IMMUNOME_DATA set, a missing dataset is a failure, not a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
def test_probe(require_data):
    require_data("10kip/CyTOF_PBMC/cytof_pbmc_formatted.csv")
"""


def _run(tmp_path: Path, data: str) -> subprocess.CompletedProcess:
    probe_dir = tmp_path / "probe"
    probe_dir.mkdir()
    (probe_dir / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    (probe_dir / "test_probe.py").write_text(PROBE)
    env = {**os.environ, "IMMUNOME_DATA": data}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe_dir)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )


def test_missing_dataset_fails_when_env_is_set(tmp_path):
    p = _run(tmp_path, str(tmp_path / "no-such-mirror"))
    assert p.returncode == 1, p.stdout
    assert "is set but is not a directory" in p.stdout
    assert "skipped" not in p.stdout


def test_missing_file_in_mirror_fails(tmp_path):
    (tmp_path / "mirror").mkdir()
    p = _run(tmp_path, str(tmp_path / "mirror"))
    assert p.returncode == 1, p.stdout
    assert "dataset file missing" in p.stdout


def test_real_mirror_is_complete(require_data):
    """Every dataset the test-suite relies on is in the mirror CI points at."""
    for rel in [
        "10kip/CyTOF_PBMC/cytof_pbmc_formatted.csv",
        "cmipb/tasks.tsv",
        "flow/fcs/100715.fcs",
        "flow/gatingml_compliance/data1.fcs",
    ]:
        assert require_data(rel).stat().st_size > 0
