"""Every endpoint × every tier: the expected status, from one table that must cover the OpenAPI
document (a new route without a row here fails the test)."""

from __future__ import annotations

import itertools

import pytest

from .api_bundles import people, write_bundle, zip_dir
from .api_support import auth

TIERS = ["anonymous", "public", "researcher", "researcher_dua", "submitter_a", "admin"]
OPEN = dict.fromkeys(TIERS, 200)
PARTICIPANT = {
    "anonymous": 401,
    "public": 403,
    "researcher": 403,
    "researcher_dua": 200,
    "submitter_a": 403,
    "admin": 200,
}
SUBMITTER = {
    "anonymous": 401,
    "public": 403,
    "researcher": 403,
    "researcher_dua": 403,
    "submitter_a": 200,
    "admin": 200,
}
ADMIN = {
    "anonymous": 401,
    "public": 403,
    "researcher": 403,
    "researcher_dua": 403,
    "submitter_a": 403,
    "admin": 200,
}
_names = itertools.count()

CASES = [
    ("GET", "/api/v1/health", None, OPEN),
    ("GET", "/api/v1", None, OPEN),
    ("GET", "/api/v1/errors", None, OPEN),
    ("GET", "/api/v1/me", None, OPEN),
    ("GET", "/api/v1/dua", None, OPEN),
    ("GET", "/api/v1/releases", None, OPEN),
    ("GET", "/api/v1/releases/{ref}", None, OPEN),
    ("GET", "/api/v1/releases/{ref}/datasheet", None, OPEN),
    ("GET", "/api/v1/releases/{ref}/files", None, OPEN),
    ("GET", "/api/v1/releases/{ref}/files/{path}", None, PARTICIPANT),
    ("GET", "/api/v1/releases/{ref}/summary", None, OPEN),
    ("GET", "/api/v1/releases/{ref}/features", None, OPEN),
    ("GET", "/api/v1/releases/{ref}/features/{assay}/{feature}", None, OPEN),
    ("GET", "/api/v1/releases/{ref}/features/{assay}/{feature}/distribution", None, OPEN),
    ("GET", "/api/v1/releases/{ref}/participants", None, PARTICIPANT),
    ("GET", "/api/v1/releases/{ref}/samples", None, PARTICIPANT),
    ("GET", "/api/v1/releases/{ref}/measurements", None, PARTICIPANT),
    ("GET", "/api/v1/models", None, OPEN),
    ("GET", "/api/v1/models/{name}", None, OPEN),
    ("POST", "/api/v1/models/{name}/predict", "rows", OPEN),
    ("POST", "/api/v1/models/{name}/predict/csv", "csv", OPEN),
    ("POST", "/api/v1/submissions/validate", "good_bundle", SUBMITTER),
    ("POST", "/api/v1/submissions", "bad_bundle", {**SUBMITTER, "submitter_a": 422, "admin": 422}),
    ("GET", "/api/v1/submissions", None, SUBMITTER),
    ("GET", "/api/v1/submissions/{submission_id}", None, SUBMITTER),
    ("GET", "/api/v1/admin/users", None, ADMIN),
    ("POST", "/api/v1/admin/users", "new_user", {**ADMIN, "admin": 201}),
    ("POST", "/api/v1/admin/users/{name}/tokens", None, {**ADMIN, "admin": 201}),
    ("DELETE", "/api/v1/admin/tokens/{token_id}", None, ADMIN),
    ("GET", "/api/v1/admin/audit", None, ADMIN),
    # last: accepting the DUA changes what the researcher sees
    (
        "POST",
        "/api/v1/me/dua",
        None,
        {
            "anonymous": 401,
            "public": 403,
            "researcher": 201,
            "researcher_dua": 201,
            "submitter_a": 403,
            "admin": 201,
        },
    ),
]


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    root = tmp_path_factory.mktemp("matrix")
    good = write_bundle(
        root / "good", site="SITEA", rows=people("MX", female=5, male=5, seed=5), seed=5
    )
    bad = write_bundle(
        root / "bad", site="SITEA", rows=people("MY", female=5, male=5, seed=6), seed=6
    )
    (bad / "samples.csv").write_text((bad / "samples.csv").read_text().replace(",0,", ",-x,", 1))
    return {
        "good": zip_dir(good, root / "g.zip").read_bytes(),
        "bad": zip_dir(bad, root / "b.zip").read_bytes(),
    }


def _fill(path: str, values: dict) -> str:
    for k, v in values.items():
        path = path.replace("{" + k + "}", v)
    return path


def test_table_covers_every_openapi_route(client):
    doc = client.get("/api/v1/openapi.json").json()
    routes = {
        (m.upper(), p.replace("{path:path}", "{path}"))
        for p, item in doc["paths"].items()
        for m in item
    }
    assert routes == {(m, p) for m, p, _, _ in CASES}


@pytest.mark.parametrize("tier", TIERS)
def test_every_endpoint_for_every_tier(
    client, server, tokens, model_name, prediction_csv, store_path, uploads, tier
):
    import immunome

    access = server.app.state.access
    fresh = f"matrix-r{next(_names)}"
    access.add_user(fresh, tier="researcher")
    tier_token = {
        **tokens,
        "researcher": access.create_token(fresh),
    }  # DUA-less unless accepted here
    headers = auth(tier_token[tier]) if tier != "anonymous" else {}
    sid = immunome.open(store_path).submissions(site="SITEA")["submission_id"].iloc[-1]
    rows = prediction_csv.read_text()
    failures = []
    for method, path, body, expected in CASES:
        victim_token = access.create_token("researcher") if "tokens/{token_id}" in path else None
        victim_id = (
            access.tokens("researcher")[-1]["token_id"] if victim_token else "t-000000000000"
        )
        url = _fill(
            path,
            {
                "ref": "latest",
                "assay": "cytof_pbmc",
                "feature": "t_cell",
                "path": "samples.parquet",
                "submission_id": sid,
                "token_id": victim_id,
                "name": "researcher" if "admin" in path else model_name,
            },
        )
        kw: dict = {"headers": headers}
        if path.endswith("/measurements"):
            kw["params"] = {"assay": "cytof_pbmc"}
        if body == "rows":
            import pandas as pd

            kw["json"] = {"rows": pd.read_csv(prediction_csv).to_dict(orient="records")}
        elif body == "csv":
            kw["files"] = {"file": ("rows.csv", rows.encode(), "text/csv")}
        elif body in ("good_bundle", "bad_bundle"):
            kw["files"] = {"bundle": ("b.zip", uploads[body.split("_")[0]], "application/zip")}
        elif body == "new_user":
            kw["json"] = {"name": f"matrix-u{next(_names)}", "tier": "public"}
        r = client.request(method, url, **kw)
        if r.status_code != expected[tier]:
            failures.append(
                f"{tier} {method} {url}: {r.status_code} (expected {expected[tier]}) {r.text[:200]}"
            )
    assert not failures, "\n".join(failures)
