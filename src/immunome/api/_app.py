"""The FastAPI application factory and ``serve``.

Example:
    >>> app = create_app("my-store")                 # doctest: +SKIP
    >>> serve("my-store", host="127.0.0.1", port=8000)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from immunome.api._access import AccessStore
from immunome.api._audit import AuditLog
from immunome.api._backend import Backend
from immunome.api._envelope import error_response
from immunome.api._errors import ApiError, from_library
from immunome.errors import ImmunomeError

API_PREFIX = "/api/v1"
DEFAULT_MAX_UPLOAD = 20 * 1024 * 1024
_RID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
log = logging.getLogger("immunome.api")


class _RequestContext:
    """Pure ASGI middleware: request ids (``X-Request-ID``) and the upload size limit."""

    def __init__(self, app: Any, *, max_body: int):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _RID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await self._too_large(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    scope["state"]["body_too_large"] = True
                    raise ApiError(
                        413, "payload_too_large", "request body exceeds the server limit"
                    )
            return message

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                if not any(k.lower() == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, limited_receive, send_with_id)

    async def _too_large(self, scope: dict, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        resp = error_response(
            request,
            413,
            "payload_too_large",
            f"request body exceeds the server limit of {self.max_body} bytes",
            details={"max_bytes": self.max_body},
        )
        resp.headers["connection"] = "close"
        await resp(scope, receive, send)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(request, exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(ImmunomeError)
    async def _lib_error(request: Request, exc: ImmunomeError):
        e = from_library(exc)
        return error_response(request, e.status, e.code, e.message, e.details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if getattr(request.state, "body_too_large", False):  # a streamed body crossed the limit
            return error_response(
                request, 413, "payload_too_large", "request body exceeds the server limit"
            )
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        code = codes.get(
            exc.status_code, "bad_request" if exc.status_code < 500 else "internal_error"
        )
        message = (
            "no such route"
            if exc.status_code == 404 and exc.detail == "Not Found"
            else str(exc.detail)
        )
        return error_response(request, exc.status_code, code, message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        details = [
            {
                "location": ".".join(map(str, e.get("loc", ()))),
                "message": e.get("msg"),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        return error_response(
            request, 422, "validation_error", "request parameters fail validation", details
        )

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("unhandled error (request %s)", getattr(request.state, "request_id", "?"))
        return error_response(
            request, 500, "internal_error", "unexpected server error; quote the request id"
        )


def create_app(
    store_path: str | Path,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
    k_min: int = 5,
) -> FastAPI:
    """Build the REST API + portal for the store folder ``store_path``.

    Example:
        >>> app = create_app("my-store")   # doctest: +SKIP
    """
    from immunome import __version__
    from immunome.api import (
        _portal,
        _routes_admin,
        _routes_meta,
        _routes_models,
        _routes_participants,
        _routes_releases,
        _routes_submissions,
    )

    store_path = Path(store_path)
    store_path.mkdir(parents=True, exist_ok=True)
    app = FastAPI(
        title="immunome",
        version=__version__,
        description=(
            "Tiered access to a multi-site immune-profiling study: public aggregates with small-cell "
            "suppression, model cards and predictions; participant-level data for researchers who "
            "accepted the data-use agreement; site submissions. Success bodies are "
            '`{"data", "meta"}`; errors are `{"error": {"code", "message", "details", "request_id"}}`.'
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.backend = Backend(store_path)
    app.state.access = AccessStore(store_path)
    app.state.audit = AuditLog(store_path)
    app.state.max_upload_bytes = max_upload_bytes
    app.state.k_min = k_min
    _install_error_handlers(app)
    for mod in (
        _routes_meta,
        _routes_releases,
        _routes_participants,
        _routes_models,
        _routes_submissions,
        _routes_admin,
    ):
        app.include_router(mod.router, prefix=API_PREFIX)
    app.include_router(_portal.router)
    static = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.add_middleware(_RequestContext, max_body=max_upload_bytes)
    return app


def serve(
    store_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
    workers: int = 1,
    log_level: str = "info",
) -> None:
    """Serve the API and portal with uvicorn until interrupted (``workers`` > 1: one process each).

    Example:
        >>> serve("demo-store", "127.0.0.1", 8000)   # doctest: +SKIP
    """
    import uvicorn

    opts = {"host": host, "port": port, "log_level": log_level, "access_log": False}
    if workers > 1:
        os.environ[_ENV_STORE] = str(Path(store_path).resolve())
        os.environ[_ENV_MAX_UPLOAD] = str(max_upload_bytes)
        uvicorn.run("immunome.api._app:app_from_env", factory=True, workers=workers, **opts)
    else:
        uvicorn.run(create_app(store_path, max_upload_bytes=max_upload_bytes), **opts)


_ENV_STORE = "IMMUNOME_SERVE_STORE"
_ENV_MAX_UPLOAD = "IMMUNOME_SERVE_MAX_UPLOAD"


def app_from_env() -> FastAPI:
    """App factory for multi-worker uvicorn (reads the store path set by :func:`serve`)."""
    return create_app(os.environ[_ENV_STORE], max_upload_bytes=int(os.environ[_ENV_MAX_UPLOAD]))
