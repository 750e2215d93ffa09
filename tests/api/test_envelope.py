"""One success envelope and one error shape on every status, request ids, pagination, OpenAPI."""

from __future__ import annotations

import pytest

from .api_support import assert_error, auth


def test_success_envelope_and_request_id(client):
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"data", "meta"}
    assert body["data"] == {"status": "ok"}
    assert body["meta"]["request_id"] == r.headers["x-request-id"]


def test_client_request_id_is_echoed_and_bad_ones_replaced(client):
    r = client.get("/api/v1/health", headers={"X-Request-ID": "abc12345-trace"})
    assert r.headers["x-request-id"] == "abc12345-trace"
    r = client.get("/api/v1/health", headers={"X-Request-ID": "<script>"})
    assert r.headers["x-request-id"] != "<script>" and len(r.headers["x-request-id"]) == 32


def test_404_unknown_route(client):
    assert_error(client.get("/api/v1/nope"), 404, "not_found")


def test_405_wrong_method(client):
    assert_error(client.delete("/api/v1/releases"), 405, "method_not_allowed")


def test_422_bad_parameter(client):
    err = assert_error(client.get("/api/v1/releases?page=0"), 422, "validation_error")
    assert err["details"][0]["location"] == "query.page"


def test_422_unknown_dimension_lists_allowed(client):
    err = assert_error(
        client.get("/api/v1/releases/latest/summary?by=zipcode"), 422, "validation_error"
    )
    assert "site" in err["details"]["allowed"]


def test_404_unknown_release_lists_allowed(client):
    err = assert_error(
        client.get("/api/v1/releases/r-doesnotexist/summary"), 404, "release_not_found"
    )
    assert "latest" in err["details"]["allowed"]


def test_401_bad_token_and_scheme(client, tokens):
    assert_error(client.get("/api/v1/me", headers=auth("imm_not-a-token")), 401, "unauthorized")
    assert_error(
        client.get("/api/v1/me", headers={"Authorization": "Basic xyz"}), 401, "unauthorized"
    )
    r = client.get("/api/v1/me", headers=auth(tokens["revoked"]))
    assert_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"


def test_413_oversized_body(client):
    big = b"x" * (3 * 1024 * 1024)
    assert_error(
        client.post("/api/v1/models/any/predict/csv", files={"file": ("a.csv", big)}),
        413,
        "payload_too_large",
    )


def test_413_streamed_body_without_length(client):
    def chunks():
        yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        for _ in range(50):
            yield b"a,b\n" * 16384
        yield b"\r\n--xyz--\r\n"

    r = client.post(
        "/api/v1/models/any/predict/csv",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert_error(r, 413, "payload_too_large")


def test_pagination(client, tokens):
    r = client.get("/api/v1/releases/latest/features?per_page=2&page=2")
    body = r.json()
    assert r.status_code == 200
    page = body["meta"]["page"]
    assert page["page"] == 2 and page["per_page"] == 2 and page["total"] >= 5
    assert page["pages"] == -(-page["total"] // 2)
    assert len(body["data"]) == 2
    first = client.get("/api/v1/releases/latest/features?per_page=2&page=1").json()["data"]
    assert first != body["data"]
    assert_error(
        client.get("/api/v1/releases/latest/features?per_page=501"), 422, "validation_error"
    )


def test_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for p in [
        "/api/v1/releases",
        "/api/v1/releases/{ref}/summary",
        "/api/v1/models/{name}/predict",
        "/api/v1/submissions",
        "/api/v1/releases/{ref}/participants",
        "/api/v1/admin/audit",
    ]:
        assert p in paths


def test_error_catalogue_lists_every_code(client):
    codes = client.get("/api/v1/errors").json()["data"]
    for c in [
        "not_found",
        "method_not_allowed",
        "validation_error",
        "unauthorized",
        "forbidden",
        "dua_required",
        "payload_too_large",
        "invalid_bundle",
        "schema_mismatch",
        "internal_error",
    ]:
        assert c in codes


@pytest.mark.parametrize("path", ["/", "/releases", "/features", "/models", "/predict", "/submit"])
def test_portal_pages_render(client, path):
    r = client.get(path)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>" in r.text
