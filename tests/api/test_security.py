"""Security: enumerate every route from OpenAPI; injection and traversal strings; differencing."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest
from scipy.optimize import linprog

from .api_support import auth

PSEUDONYM = re.compile(r"\b[PS][0-9a-f]{16}\b")
NASTY = [
    "' OR '1'='1",
    "1; DROP TABLE users; --",
    "latest' UNION SELECT token_sha256 FROM tokens --",
    "../../../../etc/passwd",
    "..%2F..%2Fsecret.key",
    "<script>alert(1)</script>",
    "%00",
]
SAMPLE = {
    "ref": "latest",
    "assay": "cytof_pbmc",
    "feature": "t_cell",
    "name": "no-such-model",
    "path": "participants.parquet",
    "submission_id": "SITEA-0001-x",
    "token_id": "t-000000000000",
}


def operations(client) -> list[tuple[str, str, dict]]:
    doc = client.get("/api/v1/openapi.json").json()
    return [(m.upper(), p, op) for p, item in doc["paths"].items() for m, op in item.items()]


def fill(path: str, override: dict | None = None) -> str:
    values = {**SAMPLE, **(override or {})}
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: values[m.group(1)], path)


def call(client, method: str, path: str, headers: dict, params: dict | None = None):
    kw: dict = {"headers": headers, "params": params or {}}
    if method == "POST" and path.endswith("/predict"):
        kw["json"] = {"rows": [{"age": 40}]}
    elif method == "POST" and "csv" in path:
        kw["files"] = {"file": ("a.csv", b"age\n40\n")}
    elif method == "POST" and "submissions" in path:
        kw["files"] = {"bundle": ("b.zip", b"PK\x05\x06" + b"\0" * 18)}
    elif method == "POST" and path.endswith("/users"):
        kw["json"] = {"name": "mallory", "tier": "admin"}
    return client.request(method, path, **kw)


def fingerprint(store_path) -> str:
    h = hashlib.sha256()
    for f in sorted(store_path.rglob("*")):
        if f.is_file() and not f.name.endswith(".wal"):
            h.update(str(f.relative_to(store_path)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("who", [None, "public"])
def test_every_route_gives_only_aggregates_without_privileges(client, tokens, who):
    headers = auth(tokens[who]) if who else {}
    ops = operations(client)
    assert len(ops) >= 20
    for method, path, _ in ops:
        r = call(client, method, fill(path), headers)
        assert r.status_code < 500, f"{method} {path}: {r.status_code} {r.text[:300]}"
        if r.status_code < 300:
            text = r.text
            assert not PSEUDONYM.search(text), f"{method} {path} leaked a participant/sample id"
            assert (
                "participant_id" not in text.replace('"participant_id"', "")
                or "application/json" in r.headers["content-type"]
            )
            assert not r.content.startswith(b"PAR1"), (
                f"{method} {path} served a participant-level file"
            )
            if (
                "application/json" in r.headers["content-type"]
                and isinstance(r.json(), dict)
                and "data" in r.json()
            ):
                body = r.json()["data"]
                rows = body if isinstance(body, list) else [body]
                for row in rows:
                    if isinstance(row, dict):
                        assert "participant_id" not in row and "sample_id" not in row, (
                            f"{method} {path}"
                        )
        elif (
            "participants" in path or "samples" in path or "measurements" in path or "admin" in path
        ):
            assert r.status_code in (401, 403), f"{method} {path}: {r.status_code}"


def test_participant_routes_refuse_without_dua(client, tokens):
    for method, path, _ in operations(client):
        if any(k in path for k in ("/participants", "/samples", "/measurements")):
            r = call(
                client, method, fill(path), auth(tokens["researcher"]), {"assay": "cytof_pbmc"}
            )
            assert r.status_code == 403 and r.json()["error"]["code"] == "dua_required"


def test_injection_and_traversal_strings_give_4xx_and_change_nothing(client, tokens, store_path):
    before = fingerprint(store_path)
    n = 0
    for method, path, op in operations(client):
        params = [
            p
            for p in op.get("parameters", [])
            if p["schema"].get("type", "string") in ("string", "array") or "anyOf" in p["schema"]
        ]
        for p in params:
            for bad in NASTY:
                for who in (None, "admin"):
                    headers = auth(tokens[who]) if who else {}
                    if p["in"] == "path":
                        url = fill(
                            path,
                            {
                                p["name"]: bad.replace("/", "%2F")
                                .replace("?", "%3F")
                                .replace("#", "%23")
                            },
                        )
                        r = call(client, method, url, headers, {"assay": "cytof_pbmc"})
                    else:
                        r = call(client, method, fill(path), headers, {p["name"]: bad})
                    n += 1
                    assert 400 <= r.status_code < 500, (
                        f"{method} {path} {p['name']}={bad!r}: {r.status_code}"
                    )
                    assert r.json()["error"]["code"]
    assert n > 100
    assert fingerprint(store_path) == before


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/releases/latest/files/..%2F..%2Fsecret.key",
        "/api/v1/releases/latest/files/..%2Fimmunome.duckdb",
        "/api/v1/releases/latest/files/%2Fetc%2Fpasswd",
        "/api/v1/releases/..%2F..%2F/files/secret.key",
        "/static/..%2F_access.py",
        "/static/%2E%2E/_access.py",
    ],
)
def test_path_traversal_on_files_is_refused(client, tokens, url):
    r = client.get(url, headers=auth(tokens["admin"]))
    assert 400 <= r.status_code < 500
    assert b"HMAC" not in r.content and b"import" not in r.content


def published(client, by: list[str]) -> list[dict]:
    q = "&".join(f"by={b}" for b in by) or "by="
    return client.get(f"/api/v1/releases/latest/summary?{q}").json()["data"]["rows"]


def test_differencing_two_overlapping_summaries_reveals_nothing(client, tokens):
    """An attacker queries site×sex, site, sex and the total, then solves for the hidden cells."""
    two = published(client, ["site", "sex"])
    by_site = {r["site"]: r["n"] for r in published(client, ["site"])}
    by_sex = {r["sex"]: r["n"] for r in published(client, ["sex"])}
    total = published(client, [])
    assert set(total[0]) == {"n", "suppressed", "reason"}
    hidden = [(r["site"], r["sex"]) for r in two if r["suppressed"]]
    assert ("SITEA", "female") in hidden  # the true value is 3
    # the naive attack: site total − other cells of that site
    a_other = [r for r in two if r["site"] == "SITEA" and r["sex"] != "female"]
    assert any(r["n"] is None for r in a_other)
    # the full attack: all published equalities, cells >= 0, LP bounds on each hidden cell
    pos = {c: i for i, c in enumerate(hidden)}
    rows, rhs = [], []
    for dim, margin in (("site", by_site), ("sex", by_sex)):
        for level, n in margin.items():
            if n is None:
                continue
            row = np.zeros(len(hidden))
            known = 0
            for r in two:
                if r[dim] == level:
                    if r["suppressed"]:
                        row[pos[(r["site"], r["sex"])]] = 1
                    else:
                        known += r["n"]
            rows.append(row)
            rhs.append(n - known)
    if total and total[0]["n"] is not None:
        rows.append(np.ones(len(hidden)))
        rhs.append(total[0]["n"] - sum(r["n"] for r in two if not r["suppressed"]))
    for cell, i in pos.items():
        c = np.zeros(len(hidden))
        c[i] = 1
        lo = linprog(c, A_eq=np.array(rows), b_eq=np.array(rhs), bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=np.array(rows), b_eq=np.array(rhs), bounds=(0, None), method="highs")
        assert lo.status == 0 and hi.status in (0, 3), "the published tables are inconsistent"
        lo, hi = lo.fun, (np.inf if hi.status == 3 else -hi.fun)
        assert hi - lo >= 1, f"{cell} derivable by differencing: [{lo}, {hi}]"
    # the researcher tier sees the truth, confirming the cell really was small
    full = client.get(
        "/api/v1/releases/latest/datasheet", headers=auth(tokens["researcher_dua"])
    ).json()["data"]
    assert full["by_site_sex"]["SITEA"]["female"] == 3


def test_feature_means_of_hidden_cells_cannot_be_differenced(client):
    two = client.get(
        "/api/v1/releases/latest/features/cytof_pbmc/t_cell/distribution?by=site&by=sex"
    ).json()["data"]
    one = client.get(
        "/api/v1/releases/latest/features/cytof_pbmc/t_cell/distribution?by=site"
    ).json()["data"]
    hidden = [r for r in two["rows"] if r["suppressed"]]
    assert hidden and all(r["mean"] is None and r["n"] is None for r in hidden)
    for site in {r["site"] for r in hidden}:
        line = [r for r in two["rows"] if r["site"] == site]
        assert sum(r["suppressed"] for r in line) != 1, (
            f"site {site}: a lone hidden mean is derivable"
        )
    assert any(r["n"] for r in one["rows"])


@pytest.mark.parametrize(
    "url",
    [
        "/features?q=<script>alert(1)</script>",
        "/features?assay=<script>alert(1)</script>",
        "/releases/<script>alert(1)<%2Fscript>",
        "/features/cytof_pbmc/t_cell?by=<script>alert(1)</script>",
    ],
)
def test_portal_escapes_reflected_input(client, url):
    r = client.get(url)
    assert r.status_code < 500
    assert "<script>alert(1)" not in r.text
