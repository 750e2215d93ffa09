"""Models over HTTP: list, card (small groups suppressed), predict on JSON rows and CSV uploads."""

from __future__ import annotations

import pandas as pd

from .api_support import assert_error


def test_list_and_card(client, model_name):
    models = client.get("/api/v1/models").json()["data"]
    assert model_name in {m["name"] for m in models}
    card = client.get(f"/api/v1/models/{model_name}").json()["data"]
    assert card["format"] == "immunome-model-card/1" and card["headline"]["loso_mae"] > 0
    assert_error(client.get("/api/v1/models/no-such-model"), 404, "model_not_found")


def test_predict_json_rows(client, model_name, prediction_csv):
    rows = pd.read_csv(prediction_csv).to_dict(orient="records")
    r = client.post(f"/api/v1/models/{model_name}/predict", json={"rows": rows})
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert d["n"] == 5 and len(d["predictions"]) == 5
    p = d["predictions"][0]
    assert p["participant_id"] == "X0" and p["lower"] <= p["prediction"] <= p["upper"]


def test_predict_csv_upload_same_as_json(client, model_name, prediction_csv):
    data = prediction_csv.read_bytes()
    r = client.post(
        f"/api/v1/models/{model_name}/predict/csv", files={"file": ("rows.csv", data, "text/csv")}
    )
    assert r.status_code == 200, r.text
    csv_pred = [p["prediction"] for p in r.json()["data"]["predictions"]]
    rows = pd.read_csv(prediction_csv).to_dict(orient="records")
    json_pred = [
        p["prediction"]
        for p in client.post(f"/api/v1/models/{model_name}/predict", json={"rows": rows}).json()[
            "data"
        ]["predictions"]
    ]
    assert csv_pred == json_pred


def test_schema_mismatch_names_row_and_column(client, model_name, prediction_csv):
    rows = pd.read_csv(prediction_csv).to_dict(orient="records")
    rows[2]["t_cell"] = "lots"
    err = assert_error(
        client.post(f"/api/v1/models/{model_name}/predict", json={"rows": rows}),
        422,
        "schema_mismatch",
    )
    assert "t_cell" in err["message"]


def test_missing_features_are_imputed_and_reported(client, model_name):
    r = client.post(
        f"/api/v1/models/{model_name}/predict",
        json={"rows": [{"participant_id": "x", "t_cell": 50}]},
    )
    assert r.status_code == 200
    assert "b_cell" in r.json()["data"]["predictions"][0]["imputed"]


def test_bad_uploads(client, model_name):
    url = f"/api/v1/models/{model_name}/predict/csv"
    assert_error(client.post(url, files={"file": ("a.csv", b"")}), 400, "unusable_input")
    assert_error(
        client.post(url, files={"file": ("a.csv", b"\xff\xfe\x00bad")}), 400, "unusable_input"
    )
    assert_error(
        client.post(f"/api/v1/models/{model_name}/predict", json={"rows": []}),
        422,
        "validation_error",
    )
    assert_error(
        client.post(f"/api/v1/models/{model_name}/predict", json={"rows": [{"a": [1]}]}),
        422,
        "validation_error",
    )


def test_prediction_form_without_browser(client, model_name, prediction_csv):
    r = client.post(
        "/predict",
        data={"model": model_name},
        files={"file": ("rows.csv", prediction_csv.read_bytes(), "text/csv")},
    )
    assert r.status_code == 200 and 'id="predictions"' in r.text and "<svg" in r.text
    r = client.get(f"/models/{model_name}")
    assert r.status_code == 200 and "Model card" in r.text and 'id="metrics-chart"' in r.text
