"""Access tiers: public, researcher (after the DUA), site submitter, admin; tokens; audit log."""

from __future__ import annotations

import json

import pytest

from .api_support import assert_error, auth

PARTICIPANT_LEVEL = [
    "/api/v1/releases/latest/participants",
    "/api/v1/releases/latest/samples",
    "/api/v1/releases/latest/measurements?assay=cytof_pbmc",
    "/api/v1/releases/latest/files/participants.parquet",
]


@pytest.mark.parametrize("path", PARTICIPANT_LEVEL)
def test_anonymous_gets_401(client, path):
    assert_error(client.get(path), 401, "unauthorized")


@pytest.mark.parametrize("path", PARTICIPANT_LEVEL)
@pytest.mark.parametrize("who", ["public", "submitter_a"])
def test_public_and_submitter_tokens_get_403(client, tokens, path, who):
    assert_error(client.get(path, headers=auth(tokens[who])), 403, "forbidden")


@pytest.mark.parametrize("path", PARTICIPANT_LEVEL)
def test_researcher_without_dua_gets_dua_required(client, tokens, path):
    err = assert_error(client.get(path, headers=auth(tokens["researcher"])), 403, "dua_required")
    assert "dua" in err["message"]


def test_researcher_with_dua_reads_pseudonymised_rows_and_is_audited(client, server, tokens):
    before = len(server.app.state.audit.entries())
    r = client.get(
        "/api/v1/releases/latest/participants?per_page=10", headers=auth(tokens["researcher_dua"])
    )
    assert r.status_code == 200
    rows = r.json()["data"]
    assert len(rows) == 10 and all(row["participant_id"].startswith("P") for row in rows)
    assert not any(
        "SITEA-0" in json.dumps(row) for row in rows
    )  # raw site IDs never leave the store
    entries = server.app.state.audit.entries()
    assert len(entries) == before + 1
    last = entries[-1]
    assert (
        last["user"] == "researcher-dua" and last["action"] == "participants" and last["rows"] == 10
    )
    assert last["request_id"] == r.headers["x-request-id"]
    assert server.app.state.audit.verify() == len(entries)


def test_measurements_and_file_download_for_researcher(client, tokens):
    h = auth(tokens["researcher_dua"])
    r = client.get(
        "/api/v1/releases/latest/measurements?assay=cytof_pbmc&layer=harmonized", headers=h
    )
    assert r.status_code == 200 and set(r.json()["data"][0]) == {
        "sample_id",
        "assay",
        "feature",
        "value",
    }
    assert_error(
        client.get("/api/v1/releases/latest/measurements?assay=nope", headers=h), 404, "not_found"
    )
    r = client.get("/api/v1/releases/latest/files/participants.parquet", headers=h)
    assert r.status_code == 200 and r.content[:4] == b"PAR1"


def test_public_files_need_no_token(client):
    r = client.get("/api/v1/releases/latest/files/manifest.json")
    assert r.status_code == 200 and r.json()["release_id"].startswith("r-")
    files = client.get("/api/v1/releases/latest/files").json()["data"]
    allowed = {f["path"] for f in files if f["allowed"]}
    assert allowed == {"manifest.json", "features.parquet"}


def test_datasheet_public_is_suppressed_full_for_researcher(client, tokens):
    pub = client.get("/api/v1/releases/latest/datasheet").json()["data"]
    assert pub["level"] == "public"
    site_sex = {(r["site"], r["sex"]): r for r in pub["by_site_sex"]}
    assert (
        site_sex[("SITEA", "female")]["n"] is None and site_sex[("SITEA", "female")]["suppressed"]
    )
    assert "age" not in pub  # min/max age are individual values
    full = client.get(
        "/api/v1/releases/latest/datasheet", headers=auth(tokens["researcher_dua"])
    ).json()["data"]
    assert full["level"] == "full" and full["by_site_sex"]["SITEA"]["female"] == 3


def test_me_reports_tier_site_and_dua(client, tokens):
    assert client.get("/api/v1/me").json()["data"]["tier"] == "public"
    me = client.get("/api/v1/me", headers=auth(tokens["submitter_a"])).json()["data"]
    assert me["tier"] == "submitter" and me["site"] == "SITEA" and not me["participant_access"]
    me = client.get("/api/v1/me", headers=auth(tokens["researcher_dua"])).json()["data"]
    assert me["dua_accepted_at"] and me["participant_access"]


def test_dua_acceptance_rules(client, tokens):
    assert_error(client.post("/api/v1/me/dua"), 401, "unauthorized")
    assert_error(
        client.post("/api/v1/me/dua", headers=auth(tokens["submitter_a"])), 403, "forbidden"
    )
    assert client.get("/api/v1/dua").json()["data"]["text"]


def test_admin_endpoints(client, tokens, server):
    h = auth(tokens["admin"])
    users = client.get("/api/v1/admin/users", headers=h).json()["data"]
    assert {u["name"] for u in users} >= {"researcher", "admin"}
    assert all("token_sha256" not in u for u in users)
    assert_error(
        client.get("/api/v1/admin/users", headers=auth(tokens["researcher_dua"])), 403, "forbidden"
    )
    assert_error(client.get("/api/v1/admin/audit"), 401, "unauthorized")
    r = client.post("/api/v1/admin/users", headers=h, json={"name": "newbie", "tier": "researcher"})
    assert r.status_code == 201
    assert_error(
        client.post(
            "/api/v1/admin/users", headers=h, json={"name": "newbie", "tier": "researcher"}
        ),
        409,
        "conflict",
    )
    assert_error(
        client.post("/api/v1/admin/users", headers=h, json={"name": "x y", "tier": "god"}),
        422,
        "validation_error",
    )
    tok = client.post("/api/v1/admin/users/newbie/tokens", headers=h).json()["data"]["token"]
    assert client.get("/api/v1/me", headers=auth(tok)).json()["data"]["name"] == "newbie"
    tid = next(t["token_id"] for t in server.app.state.access.tokens("newbie"))
    assert client.delete(f"/api/v1/admin/tokens/{tid}", headers=h).json()["data"]["revoked"] == 1
    assert_error(client.get("/api/v1/me", headers=auth(tok)), 401, "unauthorized")
    audit = client.get("/api/v1/admin/audit?per_page=500", headers=h).json()
    assert audit["meta"]["page"]["verified"] == audit["meta"]["page"]["total"]
    assert {"add_user", "create_token", "revoke_token"} <= {e["action"] for e in audit["data"]}


def test_tokens_are_stored_hashed(store_path, tokens):
    raw = (store_path / "access.duckdb").read_bytes()
    for t in tokens.values():
        assert t.encode() not in raw


def test_audit_log_is_tamper_evident(tmp_path):
    from immunome.api import AuditLog
    from immunome.errors import IntegrityError

    log = AuditLog(tmp_path)
    for i in range(3):
        log.append(user="u", tier="researcher", action="participants", resource=f"/x/{i}", rows=i)
    assert log.verify() == 3
    lines = log.path.read_text().splitlines()
    log.path.write_text("\n".join([lines[0], lines[2]]) + "\n")  # delete the middle entry
    with pytest.raises(IntegrityError, match=":2:"):
        log.verify()
