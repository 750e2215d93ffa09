"""Registry: safe formats, sha256 on every file, tampering and code injection refused."""

from __future__ import annotations

import hashlib
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from immunome.errors import ModelError
from immunome.models import fit_model, list_models, load_model, save_model


def test_roundtrip_predicts_identically(saved_model, ridge_model, inputs):
    loaded = load_model(saved_model)
    a = ridge_model.predict(inputs)
    b = loaded.predict(inputs)
    pd.testing.assert_frame_equal(a, b)
    assert loaded.schema["release_id"] == "r-test"
    assert {p.name for p in saved_model.iterdir()} == {
        "manifest.json",
        "estimator.json",
        "schema.json",
        "card.json",
        "card.md",
    }


def test_versions_increment_and_list(tmp_path, ridge_model):
    root = tmp_path / "reg"
    assert save_model(ridge_model, root).name == "1"
    assert save_model(ridge_model, root).name == "2"
    assert load_model(root, "age-ridge").version == "2"
    assert load_model(root, "age-ridge", version="1").version == "1"
    assert [r["version"] for r in list_models(root)] == ["1", "2"]
    with pytest.raises(ModelError, match="already exists"):
        save_model(ridge_model, root, version="1")


def test_unknown_model_names_allowed(tmp_path, ridge_model):
    save_model(ridge_model, tmp_path)
    with pytest.raises(ModelError) as e:
        load_model(tmp_path, "nope")
    assert "age-ridge" in str(e.value)


def test_tampered_artifact_is_refused(saved_model):
    est = saved_model / "estimator.json"
    doc = json.loads(est.read_text())
    doc["state"]["coef"][0] += 1.0
    est.write_text(json.dumps(doc))
    with pytest.raises(ModelError, match=r"estimator.json: sha256 mismatch"):
        load_model(saved_model)


def test_lightgbm_text_is_hashed_too(tmp_path, cohort_df, features, inputs):
    m = fit_model(
        cohort_df[features],
        cohort_df["age"].to_numpy(),
        spec={"kind": "lightgbm", "n_estimators": 20},
        name="gbm",
    )
    folder = save_model(m, tmp_path)
    pd.testing.assert_frame_equal(load_model(folder).predict(inputs), m.predict(inputs))
    txt = folder / "lightgbm.txt"
    txt.write_text(txt.read_text().replace("tree", "tree ", 1))
    with pytest.raises(ModelError, match="lightgbm.txt: sha256 mismatch"):
        load_model(folder)


class _Boom:
    def __reduce__(self):
        return (exec, ("open(__import__('os').environ['BOOM_MARKER'], 'w').write('pwned')",))


def test_loading_never_executes_code(saved_model, tmp_path, monkeypatch):
    """A pickle payload with a valid hash in the manifest is still never unpickled."""
    marker = tmp_path / "marker"
    monkeypatch.setenv("BOOM_MARKER", str(marker))
    payload = pickle.dumps(_Boom())
    (saved_model / "estimator.json").write_bytes(payload)
    manifest = json.loads((saved_model / "manifest.json").read_text())
    manifest["files"]["estimator.json"] = hashlib.sha256(payload).hexdigest()
    (saved_model / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="not readable JSON"):
        load_model(saved_model)
    assert not marker.exists()


def test_extra_files_are_refused(saved_model):
    (saved_model / "model.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelError, match="unexpected file"):
        load_model(saved_model)


def test_manifest_file_names_are_restricted(saved_model):
    manifest = json.loads((saved_model / "manifest.json").read_text())
    manifest["files"]["../evil.json"] = "0" * 64
    (saved_model / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="not allowed"):
        load_model(saved_model)


def test_every_estimator_kind_roundtrips(tmp_path, cohort_df, features, inputs):
    y = cohort_df["age"].to_numpy()
    specs = [
        {"kind": "mean"},
        {"kind": "ridge"},
        {"kind": "elasticnet"},
        {"kind": "lasso"},
        {"kind": "kdm"},
        {"kind": "svr"},
        {
            "kind": "ensemble",
            "members": [{"kind": "ridge"}, {"kind": "lightgbm", "n_estimators": 10}],
        },
    ]
    for i, spec in enumerate(specs):
        m = fit_model(cohort_df[features], y, spec=spec, name=f"m{i}")
        loaded = load_model(save_model(m, tmp_path))
        np.testing.assert_allclose(
            loaded.predict(inputs)["prediction"], m.predict(inputs)["prediction"]
        )
