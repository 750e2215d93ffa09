"""The release CLI and the README tour commands, run as a user would (subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ._bundles import make_bundle


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(
        [sys.executable, "-m", "immunome", *args], capture_output=True, text=True, timeout=300
    )
    if check and p.returncode != 0:
        raise AssertionError(f"immunome {' '.join(args)} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture()
def store_dir(tmp_path):
    s = tmp_path / "S"
    run("submit", str(make_bundle(tmp_path / "b1", site="SITE01")), "--store", str(s))
    return s


def test_release_cli_cycle(store_dir, tmp_path):
    s = str(store_dir)
    out = json.loads(run("release", "create", "--store", s, "--json").stdout)
    rid = out["release_id"]
    again = json.loads(run("release", "create", "--store", s, "--json").stdout)
    assert again["release_id"] == rid and again["new"] is False
    assert rid in run("release", "list", "--store", s).stdout
    shown = run("release", "show", "latest", "--store", s).stdout
    assert "Participants by site" in shown and "SITE01" in shown
    assert "verified OK" in run("release", "verify", rid, "--store", s).stdout
    run("release", "export", str(tmp_path / "exp"), "--store", s)
    exported = tmp_path / "exp" / rid
    assert "verified OK" in run("release", "verify", "--path", str(exported)).stdout
    victim = exported / "participants.parquet"
    data = bytearray(victim.read_bytes())
    data[-20] ^= 0xFF
    victim.write_bytes(bytes(data))
    bad = run("release", "verify", "--path", str(exported), check=False)
    assert bad.returncode == 1
    assert "participants.parquet" in bad.stderr


def test_readme_tour_commands(store_dir, tmp_path):
    """Every command of the README tour runs (see README.md, 'A tour')."""
    s = str(store_dir)
    assert "cytof_pbmc" in run("protocol", "show", "--assay", "cytof_pbmc").stdout
    bundle = make_bundle(tmp_path / "b2", site="SITE02")
    rep = json.loads(run("validate", str(bundle), "--format", "json").stdout)
    assert rep["ok"] is True
    run("submit", str(bundle), "--store", s)
    run("store", "check", "--store", s)
    run("release", "create", "--store", s)
    run("release", "verify", "latest", "--store", s)


def test_unknown_release_exit_code(store_dir):
    run("release", "create", "--store", str(store_dir))
    p = run("release", "show", "r-nope", "--store", str(store_dir), check=False)
    assert p.returncode == 1
    assert "unknown or ambiguous release" in p.stderr
