"""`immunome validate|submit|init|store check`: exit codes 0/1/2, text and JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from immunome.submission import example_bundle_path


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(monkeypatch, capsys):
    """Run the real entry point ``immunome.cli.main`` in-process (exit code via SystemExit)."""
    from immunome.cli import main

    def _run(*args: str, env_store: Path | None = None) -> Result:
        if env_store is not None:
            monkeypatch.setenv("IMMUNOME_STORE", str(env_store))
        monkeypatch.setattr(sys, "argv", ["immunome", *args])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return _run


def test_console_entry_point_exit_code_2_in_a_subprocess(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "immunome", "validate", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 2
    assert "no such file or directory" in r.stderr


@pytest.fixture(scope="module")
def bad_bundle(tmp_path_factory) -> Path:
    import shutil

    b = tmp_path_factory.mktemp("cli") / "bad"
    shutil.copytree(example_bundle_path(), b)
    p = b / "samples.csv"
    p.write_text(p.read_text().replace("EX-001-D7,EX-001,7,", "EX-001-D7,EX-001,seven,"))
    return b


def test_validate_valid_text_exit_0(run):
    r = run("validate", str(example_bundle_path()))
    assert r.returncode == 0, r.stderr
    assert "valid — 0 error(s)" in r.stdout


def test_validate_invalid_text_and_json_exit_1(run, bad_bundle):
    r = run("validate", str(bad_bundle))
    assert r.returncode == 1
    assert "samples.csv:3:day: [type] 'seven' is not an integer" in r.stdout
    r = run("validate", str(bad_bundle), "--format", "json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["errors"] == 1 and doc["warnings"] == 0
    (issue,) = doc["issues"]
    assert {k: issue[k] for k in ("file", "line", "column", "rule", "severity")} == {
        "file": "samples.csv",
        "line": 3,
        "column": "day",
        "rule": "type",
        "severity": "error",
    }


def test_validate_unusable_exit_2(run, tmp_path):
    r = run("validate", str(tmp_path / "missing.zip"))
    assert r.returncode == 2
    assert "no such file" in r.stderr
    (tmp_path / "x.zip").write_bytes(b"PK\x03\x04garbage")
    r = run("validate", str(tmp_path / "x.zip"), "--format", "json")
    assert r.returncode == 2
    assert json.loads(r.stdout)["unusable"] is True


def test_validate_with_protocol_file(run, tmp_path):
    from immunome.protocol import load_protocol

    proto = load_protocol()
    (tmp_path / "p.json").write_text(proto.model_dump_json())
    # JSON is YAML: a single-file protocol
    r = run("validate", str(example_bundle_path()), "--protocol-file", str(tmp_path / "p.json"))
    assert r.returncode == 0, r.stdout + r.stderr


def test_init_submit_check_roundtrip(run, tmp_path, bad_bundle):
    store = tmp_path / "store"
    r = run("init", "--store", str(store))
    assert r.returncode == 0 and "created store" in r.stdout
    r = run("submit", str(example_bundle_path()), env_store=store)  # IMMUNOME_STORE
    assert r.returncode == 0, r.stderr
    assert "ingested" in r.stdout and "119 measurements" in r.stdout
    r = run("submit", str(example_bundle_path()), "--store", str(store), "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "unchanged"
    before = (store / "immunome.duckdb").read_bytes()
    r = run("submit", str(bad_bundle), "--store", str(store))
    assert r.returncode == 1 and "[type]" in r.stdout
    assert (store / "immunome.duckdb").read_bytes() == before
    r = run("store", "check", "--store", str(store), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["measurements"] == 119
