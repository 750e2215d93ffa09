"""`immunome protocol validate|show`: the shipped protocol passes; broken files fail with a location."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from immunome.cli import app
from immunome.errors import ProtocolError
from immunome.protocol import list_protocols, load_protocol, protocol_from_path
from immunome.protocol._load import _data_root

V1 = _data_root() / "global-immunome-study" / "v1"
runner = CliRunner()


@pytest.fixture
def v1_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "v1"
    shutil.copytree(V1, dst)
    return dst


def test_shipped_protocol_validates():
    res = runner.invoke(app, ["protocol", "validate", str(V1)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("ok: global-immunome-study v1")


def test_show_json_and_assay_text():
    res = runner.invoke(app, ["protocol", "show", "--format", "json"])
    assert res.exit_code == 0
    assert {a["id"] for a in json.loads(res.output)["assays"]} >= {"cytof_pbmc", "olink"}
    res = runner.invoke(app, ["protocol", "show", "--assay", "cbc", "--format", "text"])
    assert "lymphocyte_percent (%, float) lymphocyte % of leukocyte" in res.output


def test_wrong_type_reports_file_line_column(v1_copy: Path):
    f = v1_copy / "assays" / "cbc.yaml"
    text = f.read_text()
    f.write_text(text.replace("range: [0, 500]", "range: [0, lots]", 1))
    line = next(i for i, ln in enumerate(f.read_text().splitlines(), 1) if "lots" in ln)
    with pytest.raises(ProtocolError) as e:
        protocol_from_path(v1_copy)
    assert f"cbc.yaml:{line}:" in str(e.value)
    assert "assays.1.features.0.range.1" in str(e.value)


def test_unknown_unit_names_feature_location_and_allowed(v1_copy: Path):
    f = v1_copy / "assays" / "lipid_panel.yaml"
    f.write_text(f.read_text().replace("unit: mg/dL", "unit: mg/dLx", 1))
    res = runner.invoke(app, ["protocol", "validate", str(v1_copy), "--format", "json"])
    assert res.exit_code == 1
    out = json.loads(res.output)
    assert out["ok"] is False and out["errors"] == 1
    issue = out["issues"][0]
    assert "lipid_panel.yaml:" in issue and "unknown unit mg/dLx" in issue and "allowed: %" in issue


def test_unknown_population_and_yaml_syntax(v1_copy: Path):
    f = v1_copy / "assays" / "flow_whole_blood.yaml"
    f.write_text(f.read_text().replace("denominator: lymphocyte", "denominator: lymphocytez", 1))
    with pytest.raises(
        ProtocolError, match=r"flow_whole_blood\.yaml:\d+:\d+: .*unknown population lymphocytez"
    ):
        protocol_from_path(v1_copy)
    f.write_text("assays: [\n  - id: x\n")
    with pytest.raises(ProtocolError, match=r"flow_whole_blood\.yaml:\d+:\d+: invalid YAML"):
        protocol_from_path(v1_copy)


def test_conflicting_population_and_alias_collision(v1_copy: Path):
    (v1_copy / "assays" / "zz_extra.yaml").write_text(
        "populations:\n  - {id: b_cell, label: B, markers: CD20+}\n"
    )
    with pytest.raises(
        ProtocolError, match=r"zz_extra\.yaml:2:5: \[population-conflict\].*populations\.yaml"
    ):
        protocol_from_path(v1_copy)
    (v1_copy / "assays" / "zz_extra.yaml").write_text(
        "assays:\n  - id: zz\n    label: z\n    kind: titer\n    technology: t\n    sample_type: s\n"
        "    features:\n      - {id: a, label: a, unit: titer, aliases: [X]}\n"
        "      - {id: b, label: b, unit: titer, aliases: [x]}\n"
    )
    with pytest.raises(ProtocolError, match="alias of both a and b"):
        protocol_from_path(v1_copy)


def test_missing_protocol_yaml_and_unknown_version(tmp_path: Path):
    with pytest.raises(ProtocolError, match="needs protocol.yaml"):
        protocol_from_path(tmp_path)
    with pytest.raises(ProtocolError, match="unknown version 99") as e:
        load_protocol("global-immunome-study", 99)
    assert e.value.allowed == [v for p, v in list_protocols() if p == "global-immunome-study"]


def test_v1_stays_readable_when_v2_is_added(tmp_path: Path, monkeypatch):
    """Protocol versions are immutable folders: adding v2 leaves v1 loadable and unchanged."""
    import immunome.protocol._load as L

    root = tmp_path / "data"
    shutil.copytree(V1.parent.parent, root)
    v2 = root / "global-immunome-study" / "v2"
    shutil.copytree(root / "global-immunome-study" / "v1", v2)
    p2 = v2 / "protocol.yaml"
    p2.write_text(p2.read_text().replace("version: 1", "version: 2\nsupersedes: 1", 1))
    monkeypatch.setattr(L, "_data_root", lambda: root)
    L.load_protocol.cache_clear()
    try:
        assert L.load_protocol().version == 2
        old = L.load_protocol("global-immunome-study", 1)
        assert old.version == 1 and old.assay("cytof_pbmc").feature("CD4_T_cells") is not None
        assert old == protocol_from_path(V1)
    finally:
        L.load_protocol.cache_clear()


def test_show_yaml_round_trips_through_validate(tmp_path: Path):
    res = runner.invoke(app, ["protocol", "show", "--format", "yaml"])
    assert res.exit_code == 0
    single = tmp_path / "protocol.yaml"
    single.write_text(res.output)
    assert protocol_from_path(single) == load_protocol()
    assert runner.invoke(app, ["protocol", "validate", str(single)]).exit_code == 0
