"""One success envelope, one error body, request ids and pagination.

Success: ``{"data": ..., "meta": {"request_id": ..., "page": {...}?}}``.
Error: ``{"error": {"code", "message", "details", "request_id"}}``.

Example:
    >>> p = Page(page=2, per_page=10)
    >>> items, meta = p.slice(list(range(25)))
    >>> items, meta["total"], meta["pages"]
    ([10, 11, 12, 13, 14, 15, 16, 17, 18, 19], 25, 3)
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response

MAX_PER_PAGE = 500


def request_id(request: Request) -> str:
    """The id of the current request (set by the middleware; echoed in ``X-Request-ID``)."""
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = uuid.uuid4().hex
        request.state.request_id = rid
    return rid


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars, NaN and DataFrames into plain JSON values."""
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return obj


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


def ok(request: Request, data: Any, *, status: int = 200, page: dict | None = None) -> JSONResponse:
    """Wrap ``data`` in the success envelope."""
    meta: dict[str, Any] = {"request_id": request_id(request)}
    if page is not None:
        meta["page"] = page
    return _Json({"data": to_jsonable(data), "meta": meta}, status_code=status)


def encode_data(data: Any) -> bytes:
    """Pre-render ``data`` as JSON (for :func:`ok_encoded`; cached per immutable release)."""
    return json.dumps(
        to_jsonable(data), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode()


def ok_encoded(request: Request, data: bytes) -> Response:
    """The success envelope around already-encoded ``data`` (no re-serialisation per request)."""
    meta = json.dumps({"request_id": request_id(request)}).encode()
    return Response(b'{"data":' + data + b',"meta":' + meta + b"}", media_type="application/json")


def error_response(
    request: Request, status: int, code: str, message: str, details: Any = None
) -> JSONResponse:
    """The one error body."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": to_jsonable(details),
            "request_id": request_id(request),
        }
    }
    headers = {"x-request-id": request_id(request)}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return _Json(body, status_code=status, headers=headers)


@dataclass(frozen=True)
class Page:
    """Page-number pagination (``?page=1&per_page=50``, at most 500 per page)."""

    page: int = 1
    per_page: int = 50

    def slice(self, items: list[Any] | pd.DataFrame) -> tuple[Any, dict[str, int]]:
        total = len(items)
        start = (self.page - 1) * self.per_page
        part = items[start : start + self.per_page]
        meta = {
            "page": self.page,
            "per_page": self.per_page,
            "total": total,
            "pages": max(1, math.ceil(total / self.per_page)),
        }
        return part, meta


async def page_params(
    page: int = Query(1, ge=1, le=1_000_000, description="1-based page number"),
    per_page: int = Query(50, ge=1, le=MAX_PER_PAGE, description="items per page (max 500)"),
) -> Page:
    """FastAPI dependency for pagination parameters."""
    return Page(page=page, per_page=per_page)
