"""Property-based contract test: schemathesis generates requests from the OpenAPI document and
sends them to the live uvicorn server; no response may be a 5xx, and every error keeps the one
error shape. (Driven from a plain pytest test: the schemathesis pytest plugin is bypassed.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from .api_support import auth


def _operations(url: str) -> list:
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def _runner(op, base_url: str, header_sets: tuple[dict, ...], seen: dict[str, int]):
    """A hypothesis test for one operation: every generated case, with every header set."""

    @given(case=op.as_strategy())
    @settings(
        max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def run(case):
        for headers in header_sets:
            response = case.call(base_url=base_url, headers=headers, timeout=60)
            case.validate_response(response, checks=[not_a_server_error])
            seen[op.label] = seen.get(op.label, 0) + 1
            ctype = response.headers.get("content-type") or [""]
            if response.status_code >= 400 and ctype[0].startswith("application/json"):
                body = response.json()
                assert set(body) == {"error"}, (op.label, body)
                assert set(body["error"]) == {"code", "message", "details", "request_id"}

    return run


@pytest.mark.slow
def test_no_server_errors_on_generated_requests(server, tokens):
    ops = _operations(server.url)
    assert len(ops) >= 20
    header_sets = ({}, auth(tokens["public"]), auth(tokens["admin"]))
    seen: dict[str, int] = {}
    for op in ops:
        _runner(op, server.url, header_sets, seen)()
    assert len(seen) == len(ops)
