"""Pinned sources: the registry matches the mirror; tampering and missing files are DatasetErrors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from immunome.cli import app
from immunome.datasets import fetch, get_dataset, list_datasets, sha256_file
from immunome.errors import DatasetError


def test_registry_lists_pinned_commits():
    ds = {d.name: d for d in list_datasets()}
    assert set(ds) == {"10kip", "cmipb", "flow"}
    assert ds["10kip"].repositories["main"].commit == "6164300f158ab357f7e9715076fdbaec0d5e760c"
    assert ds["cmipb"].repositories["main"].commit.startswith("dca7f5c6")
    assert all(len(f.sha256) == 64 for d in ds.values() for f in d.files)
    f = ds["10kip"].file("hla.csv")
    assert ds["10kip"].url(f) == (
        "https://raw.githubusercontent.com/pupster90/10k_Immunomes/6164300f158ab357f7e9715076fdbaec0d5e760c/"
        "data_raw/hla.csv"
    )


def test_unknown_dataset_and_file():
    with pytest.raises(DatasetError) as e:
        get_dataset("nope")
    assert e.value.allowed == ["10kip", "cmipb", "flow"]
    with pytest.raises(DatasetError, match="has no file"):
        get_dataset("10kip").file("x.csv")


@pytest.mark.parametrize("name", ["10kip", "cmipb", "flow"])
def test_mirror_matches_every_pinned_sha256(name, data_root: Path, monkeypatch):
    monkeypatch.setenv("IMMUNOME_DATA", str(data_root))
    root = fetch(name)
    assert root == data_root / name
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert on_disk == {f.path for f in get_dataset(name).files}


def test_tampered_copy_is_a_mismatch(data_root: Path, tmp_path: Path):
    mirror = tmp_path / "mirror"
    shutil.copytree(data_root / "10kip", mirror / "10kip")
    target = mirror / "10kip" / "hla.csv"
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[100] ^= 1
    target.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"hla\.csv: sha256 mismatch"):
        fetch("10kip", mirror=mirror)
    target.unlink()
    with pytest.raises(DatasetError, match=r"hla\.csv: missing file"):
        fetch("10kip", mirror=mirror, files=["hla.csv"])


def test_cache_hit_needs_no_network_and_mirror_only_files_fail(
    data_root: Path, tmp_path: Path, monkeypatch
):
    monkeypatch.delenv("IMMUNOME_DATA", raising=False)
    cache = tmp_path / "cache"
    (cache / "10kip").mkdir(parents=True)
    shutil.copy(data_root / "10kip" / "hla.csv", cache / "10kip" / "hla.csv")

    def no_network(*a, **k):
        raise AssertionError("network used")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    root = fetch("10kip", cache_dir=cache, files=["hla.csv"])
    assert sha256_file(root / "hla.csv") == get_dataset("10kip").file("hla.csv").sha256
    with pytest.raises(DatasetError, match="no pinned download URL"):
        fetch("cmipb", cache_dir=cache, files=["tasks.tsv"])


def test_cli_list_and_fetch(data_root: Path, monkeypatch):
    runner = CliRunner()
    res = runner.invoke(app, ["datasets", "list"])
    assert res.exit_code == 0 and "10kip" in res.output and "6164300f15" in res.output
    monkeypatch.setenv("IMMUNOME_DATA", str(data_root))
    res = runner.invoke(app, ["datasets", "fetch", "10kip"])
    assert res.exit_code == 0 and res.output.strip().endswith("10kip")
