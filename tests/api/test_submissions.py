"""Site submissions over HTTP: scoped to the token's site, validated, atomic, safe uploads."""

from __future__ import annotations

import io
import zipfile

import pytest

from .api_bundles import people, write_bundle, zip_dir
from .api_support import assert_error, auth


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundles")
    out = {}
    for site, seed in (("SITEA", 11), ("SITEB", 12)):
        folder = write_bundle(
            root / site, site=site, rows=people(site + "X", female=6, male=6, seed=seed), seed=seed
        )
        out[site] = zip_dir(folder, root / f"{site}.zip").read_bytes()
    bad = write_bundle(
        root / "bad", site="SITEA", rows=people("BAD", female=5, male=5, seed=3), seed=3
    )
    text = (bad / "participants.csv").read_text().splitlines()
    text[2] = text[2].replace("female", "potato")
    (bad / "participants.csv").write_text("\n".join(text) + "\n")
    out["bad"] = zip_dir(bad, root / "bad.zip").read_bytes()
    return out


def upload(client, path, data, token, name="bundle.zip"):
    return client.post(path, files={"bundle": (name, data, "application/zip")}, headers=auth(token))


def n_submissions(store_path) -> int:
    import immunome

    return len(immunome.open(store_path).submissions())


def test_validate_own_site(client, tokens, bundles):
    r = upload(client, "/api/v1/submissions/validate", bundles["SITEA"], tokens["submitter_a"])
    assert r.status_code == 200, r.text
    assert r.json()["data"]["report"]["ok"] is True


def test_invalid_bundle_returns_row_column_rule(client, tokens, bundles, store_path):
    before = n_submissions(store_path)
    r = upload(client, "/api/v1/submissions", bundles["bad"], tokens["submitter_a"])
    err = assert_error(r, 422, "invalid_bundle")
    issues = err["details"]["report"]["issues"]
    hit = [i for i in issues if i["file"] == "participants.csv" and i["column"] == "sex"]
    assert hit and hit[0]["line"] == 3 and hit[0]["rule"] and "female" in hit[0]["allowed"]
    assert n_submissions(store_path) == before


def test_submit_own_site_then_status(client, tokens, bundles, store_path):
    before = n_submissions(store_path)
    r = upload(client, "/api/v1/submissions", bundles["SITEA"], tokens["submitter_a"])
    assert r.status_code == 201, r.text
    result = r.json()["data"]["result"]
    assert result["status"] in {"ingested", "superseded"} and result["site"] == "SITEA"
    assert n_submissions(store_path) == before + 1
    sid = result["submission_id"]
    row = client.get(f"/api/v1/submissions/{sid}", headers=auth(tokens["submitter_a"])).json()[
        "data"
    ]
    assert row["site"] == "SITEA" and row["status"] == "active"
    listed = client.get("/api/v1/submissions", headers=auth(tokens["submitter_a"])).json()["data"]
    assert listed and {s["site"] for s in listed} == {"SITEA"}
    # site B can neither see it in its list nor fetch it
    listed_b = client.get("/api/v1/submissions", headers=auth(tokens["submitter_b"])).json()["data"]
    assert {s["site"] for s in listed_b} == {"SITEB"}
    assert_error(
        client.get(f"/api/v1/submissions/{sid}", headers=auth(tokens["submitter_b"])),
        404,
        "not_found",
    )
    assert_error(
        client.get("/api/v1/submissions?site=SITEA", headers=auth(tokens["submitter_b"])),
        403,
        "forbidden",
    )
    assert {
        s["site"]
        for s in client.get(
            "/api/v1/submissions?per_page=500", headers=auth(tokens["admin"])
        ).json()["data"]
    } >= {"SITEA", "SITEB"}


def test_site_a_cannot_submit_for_site_b(client, tokens, bundles, store_path):
    before = n_submissions(store_path)
    for path in ("/api/v1/submissions", "/api/v1/submissions/validate"):
        err = assert_error(
            upload(client, path, bundles["SITEB"], tokens["submitter_a"]), 403, "forbidden"
        )
        assert err["details"]["allowed"] == ["SITEA"]
    assert n_submissions(store_path) == before


@pytest.mark.parametrize(
    "who,status,code",
    [
        (None, 401, "unauthorized"),
        ("public", 403, "forbidden"),
        ("researcher_dua", 403, "forbidden"),
    ],
)
def test_non_submitters_cannot_submit(client, tokens, bundles, who, status, code):
    headers = auth(tokens[who]) if who else {}
    r = client.post(
        "/api/v1/submissions", files={"bundle": ("b.zip", bundles["SITEA"])}, headers=headers
    )
    assert_error(r, status, code)
    r = client.get("/api/v1/submissions", headers=headers)
    assert_error(r, status, code)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(
    "evil", ["../evil.csv", "/etc/evil.csv", "a/../../evil.csv", "..\\evil.csv"]
)
def test_zip_slip_rejected(client, tokens, store_path, evil):
    before = n_submissions(store_path)
    data = _zip({"manifest.yaml": b"format: immunome-bundle/1\nsite: SITEA\n", evil: b"x"})
    err = assert_error(
        upload(client, "/api/v1/submissions", data, tokens["submitter_a"]), 400, "unusable_input"
    )
    assert "zip-slip" in err["message"]
    assert not (store_path.parent / "evil.csv").exists()
    assert n_submissions(store_path) == before


def test_zip_bomb_rejected(client, tokens):
    data = _zip({"manifest.yaml": b"site: SITEA\n", "big.csv": b"0" * (120 * 1024 * 1024)})
    assert len(data) < 2 * 1024 * 1024
    err = assert_error(
        upload(client, "/api/v1/submissions", data, tokens["submitter_a"]), 400, "unusable_input"
    )
    assert "zip bomb" in err["message"]


def test_oversized_upload_rejected(client, tokens, store_path):
    before = n_submissions(store_path)
    r = upload(
        client, "/api/v1/submissions", b"PK" + b"\0" * (3 * 1024 * 1024), tokens["submitter_a"]
    )
    assert_error(r, 413, "payload_too_large")
    assert n_submissions(store_path) == before


def test_not_a_zip_rejected(client, tokens):
    r = upload(
        client,
        "/api/v1/submissions",
        b"participant_id,age\n1,2\n",
        tokens["submitter_a"],
        name="x.csv",
    )
    assert_error(r, 415, "unsupported_media_type")
