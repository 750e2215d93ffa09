"""Public endpoints: releases, datasheet, summaries, feature catalogue and distributions."""

from __future__ import annotations

import pytest

from .api_support import LiveServer, assert_error, build_store


def test_releases_list_and_show(client):
    body = client.get("/api/v1/releases").json()
    rels = body["data"]
    assert len(rels) == 2 and body["meta"]["page"]["total"] == 2
    assert all("path" not in r for r in rels)
    parent, child = rels
    assert child["parent"] == parent["release_id"] and "harmonized" in child["layers"]
    shown = client.get(f"/api/v1/releases/{parent['release_id']}").json()["data"]
    assert shown["release_id"] == parent["release_id"] and shown["assays"] == ["cytof_pbmc"]
    assert client.get("/api/v1/releases/v1").json()["data"]["release_id"] == parent["release_id"]
    assert client.get("/api/v1/releases/latest").json()["data"]["release_id"] == child["release_id"]
    prefix = child["release_id"][:8]
    assert (
        client.get(f"/api/v1/releases/{prefix}").json()["data"]["release_id"] == child["release_id"]
    )


def test_summary_by_site_and_sex(client):
    d = client.get("/api/v1/releases/latest/summary?by=site").json()["data"]
    assert {r["site"]: r["n"] for r in d["rows"]} == {"SITEA": 33, "SITEB": 45, "SITEC": 13}
    d = client.get("/api/v1/releases/latest/summary?by=site&by=sex").json()["data"]
    cells = {(r["site"], r["sex"]): r for r in d["rows"]}
    assert cells[("SITEA", "female")]["reason"] == "small"
    assert cells[("SITEC", "male")]["reason"] == "small"
    assert cells[("SITEB", "female")]["n"] == 20
    assert d["suppressed"] == 4 and d["k"] == 5
    assert_error(
        client.get("/api/v1/releases/latest/summary?by=site&by=sex&by=age_band"),
        422,
        "validation_error",
    )
    assert_error(
        client.get("/api/v1/releases/latest/summary?by=site&by=site"), 422, "validation_error"
    )


@pytest.mark.parametrize("dim", ["site", "sex", "age_band", "ancestry"])
def test_every_dimension_is_summarised_without_small_cells(client, dim):
    rows = client.get(f"/api/v1/releases/latest/summary?by={dim}").json()["data"]["rows"]
    assert rows and all(r["n"] is None or r["n"] == 0 or r["n"] >= 5 for r in rows)


def test_feature_catalogue_with_ontology_and_search(client):
    rows = client.get("/api/v1/releases/latest/features?per_page=500").json()["data"]
    t = next(r for r in rows if r["feature"] == "t_cell")
    assert t["ontology"] == "CL:0000084" and t["unit"] == "%"
    hits = client.get("/api/v1/releases/latest/features?q=CL:0000236").json()["data"]
    assert [h["feature"] for h in hits] == ["b_cell"]
    one = client.get("/api/v1/releases/latest/features/cytof_pbmc/t_cell").json()["data"]
    assert "harmonized" in one["layers"]
    assert_error(client.get("/api/v1/releases/latest/features/cytof_pbmc/nope"), 404, "not_found")


def test_distribution_raw_and_harmonized(client):
    base = "/api/v1/releases/latest/features/cytof_pbmc/t_cell/distribution?by=site"
    raw = client.get(base).json()["data"]
    har = client.get(base + "&layer=harmonized").json()["data"]
    rr = {r["site"]: r for r in raw["rows"]}
    hh = {r["site"]: r for r in har["rows"]}
    assert (
        rr["SITEB"]["n"] == 45 and rr["SITEB"]["q25"] <= rr["SITEB"]["median"] <= rr["SITEB"]["q75"]
    )
    assert hh["SITEB"]["mean"] == pytest.approx(rr["SITEB"]["mean"] * 0.9 + 1.0, rel=1e-6)
    assert_error(client.get(base + "&layer=nope"), 404, "not_found")
    day7 = client.get(base + "&visit=day7").json()["data"]
    assert day7["visit"] == "day7" and {r["site"]: r["n"] for r in day7["rows"]}["SITEB"] == 45
    err = assert_error(client.get(base + "&visit=day999"), 404, "not_found")
    assert err["details"]["allowed"] == ["baseline", "day7"]


def test_public_datasheet_has_coverage_and_suppression(client):
    d = client.get("/api/v1/releases/latest/datasheet").json()["data"]
    assert d["participants"] == 91 and d["sites"] == ["SITEA", "SITEB", "SITEC"]
    assert {r["site"] for r in d["coverage"]} == {"SITEA", "SITEB", "SITEC"}
    assert all(r["n"] is None or r["n"] >= 5 for r in d["by_site_sex"])


def test_service_index_and_dua(client):
    idx = client.get("/api/v1").json()["data"]
    assert idx["tiers"] == ["public", "researcher", "submitter", "admin"]
    assert client.get(idx["links"]["releases"]).status_code == 200


def test_empty_store_answers_not_found_with_hint(tmp_path):
    with LiveServer(tmp_path / "empty") as srv:
        import httpx

        r = httpx.get(f"{srv.url}/api/v1/releases/latest/summary")
        err = assert_error(r, 404, "release_not_found")
        assert "release create" in err["message"]
        assert httpx.get(f"{srv.url}/api/v1/releases").json()["data"] == []
        assert httpx.get(f"{srv.url}/").status_code == 200


def test_500_has_the_error_shape(tmp_path):
    """A damaged release file makes reading fail: 500 ``internal_error`` in the one error shape."""
    store = build_store(tmp_path)
    rel = sorted((store / "releases").glob("r-*"))[0]
    for sub in (store / "releases").glob("r-*"):
        (sub / "participants.parquet").write_bytes(b"not parquet")
    with LiveServer(store) as srv:
        import httpx

        r = httpx.get(f"{srv.url}/api/v1/releases/latest/summary")
        err = assert_error(r, 500, "internal_error")
        assert "request id" in err["message"]
    assert rel.exists()
