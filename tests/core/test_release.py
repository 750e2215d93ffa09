"""Releases: content addressing, immutability, verification, derived layers."""

from __future__ import annotations

import shutil

import pytest

import immunome
from immunome.errors import IntegrityError, ReleaseError
from immunome.store._release import verify_release_path

from ._bundles import make_bundle


@pytest.fixture()
def store(tmp_path):
    s = immunome.open(tmp_path / "store")
    s.submit(make_bundle(tmp_path / "b1", site="SITE01", seed=1))
    s.submit(make_bundle(tmp_path / "b2", site="SITE02", seed=2, unit="ng/mL"))
    return s


def test_same_content_same_id(store):
    a = store.create_release()
    b = store.create_release()
    assert a.release_id == b.release_id
    assert a.new and not b.new
    assert len(store.releases()) == 1
    assert a.release_id.startswith("r-") and len(a.release_id) == 18


def test_new_content_new_id(store, tmp_path):
    a = store.create_release()
    store.submit(make_bundle(tmp_path / "b3", site="SITE03", seed=3))
    b = store.create_release()
    assert a.release_id != b.release_id
    assert store.release("latest").release_id == b.release_id
    assert store.release(a.release_id).release_id == a.release_id


def test_verify_passes_then_detects_one_byte_change_in_every_file(store, tmp_path):
    info = store.create_release()
    assert store.verify_release(info.release_id)["ok"]
    files = sorted(store.release().manifest["files"])
    assert {"participants.parquet", "samples.parquet", "datasheet.json"} <= set(files)
    for rel in files:
        copy = tmp_path / "copies" / rel.replace("/", "_")
        shutil.copytree(info.path, copy)
        f = copy / rel
        data = bytearray(f.read_bytes())
        data[len(data) // 2] ^= 0x01
        f.write_bytes(bytes(data))
        with pytest.raises(IntegrityError, match=rel.replace("=", ".")):
            verify_release_path(copy)


def test_verify_detects_added_and_missing_files(store, tmp_path):
    info = store.create_release()
    out = store.export_release(info.release_id, tmp_path / "exp")
    (out / "extra.txt").write_text("x")
    with pytest.raises(IntegrityError, match="not listed"):
        verify_release_path(out)
    (out / "extra.txt").unlink()
    (out / "qc.parquet").unlink()
    with pytest.raises(IntegrityError, match="qc.parquet: missing"):
        verify_release_path(out)


def test_derive_release_adds_layer_never_overwrites(store):
    base = store.create_release()
    cohort = store.release()
    tidy = cohort.tidy(assay="multiplex_cytokines", layer="normalized")
    tidy["value"] = tidy["value"] * 2
    d = store.derive_release(
        parent=base.release_id,
        layers={"doubled": tidy},
        extras={"demo/params.json": b"{}"},
        provenance={"stage": "test"},
    )
    assert d.parent == base.release_id and d.release_id != base.release_id
    c2 = store.release(d.release_id)
    assert c2.layers == ["raw", "normalized", "doubled"]
    raw_before = cohort.matrix("multiplex_cytokines", layer="raw")
    assert c2.matrix("multiplex_cytokines", layer="raw").equals(raw_before)
    assert (
        (
            c2.matrix("multiplex_cytokines", layer="doubled")
            == 2 * cohort.matrix("multiplex_cytokines", layer="normalized")
        )
        .all()
        .all()
    )
    assert (c2.path / "extras/demo/params.json").exists()
    store.verify_release(d.release_id)
    with pytest.raises(ReleaseError, match="already exist"):
        store.derive_release(parent=d.release_id, layers={"raw": tidy})


def test_unknown_release_lists_known(store):
    store.create_release()
    with pytest.raises(ReleaseError) as e:
        store.release("r-doesnotexist")
    assert e.value.allowed


def test_datasheet_counts(store):
    info = store.create_release()
    sheet = store.release(info.release_id).datasheet
    assert sheet["participants"] == 24
    assert sheet["by_site"] == {"SITE01": 12, "SITE02": 12}
    assert sum(sheet["by_sex"].values()) == 24
    cov = {(c["assay"], c["site"]): c["samples"] for c in sheet["coverage"]}
    assert cov[("multiplex_cytokines", "SITE01")] == 24
    md = (info.path / "datasheet.md").read_text()
    assert "Participants by age band" in md and "Missingness per feature" in md
