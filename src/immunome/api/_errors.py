"""The single REST error shape and the mapping from typed errors to HTTP statuses.

Every error response is ``{"error": {"code", "message", "details", "request_id"}}``.

Example:
    >>> e = ApiError(404, "not_found", "unknown release 'r-x'", details={"allowed": ["r-1"]})
    >>> e.status, e.code
    (404, 'not_found')
"""

from __future__ import annotations

from typing import Any

from immunome import errors as ie

# typed library error -> (HTTP status, error code)
_MAPPING: list[tuple[type[Exception], int, str]] = [
    (ie.AccessDenied, 403, "forbidden"),
    (ie.SchemaMismatchError, 422, "schema_mismatch"),
    (ie.ValidationFailed, 422, "invalid_bundle"),
    (ie.UnusableInputError, 400, "unusable_input"),
    (ie.ReleaseError, 404, "release_not_found"),
    (ie.ModelError, 404, "model_not_found"),
    (ie.ProtocolError, 422, "protocol_error"),
    (ie.IntegrityError, 500, "integrity_error"),
    (ie.StoreError, 503, "store_unavailable"),
]

ERROR_CODES: dict[str, str] = {
    "bad_request": "400: a parameter is malformed",
    "unusable_input": "400: an upload cannot be read (not a zip/CSV, zip-slip, zip bomb, no manifest)",
    "unauthorized": "401: missing, unknown or revoked token",
    "forbidden": "403: the caller's tier or site does not allow this",
    "dua_required": "403: accept the data-use agreement first (POST /api/v1/me/dua)",
    "not_found": "404: no such route or object",
    "release_not_found": "404: unknown release reference",
    "model_not_found": "404: unknown model",
    "method_not_allowed": "405: method not allowed on this route",
    "conflict": "409: the object already exists",
    "payload_too_large": "413: upload larger than the server limit",
    "unsupported_media_type": "415: wrong upload type",
    "validation_error": "422: request parameters or body fail validation",
    "invalid_bundle": "422: the bundle has validation errors (see details.report)",
    "schema_mismatch": "422: prediction rows do not match the model's input schema",
    "protocol_error": "422: not allowed by the study protocol",
    "internal_error": "500: unexpected server error (quote the request id)",
    "integrity_error": "500: a release or store failed its integrity check",
    "store_unavailable": "503: the store cannot be opened right now",
    "not_ready": "503: the store has no release yet",
}


class ApiError(Exception):
    """An error with an HTTP status, a stable machine code and details for the client."""

    def __init__(self, status: int, code: str, message: str, *, details: Any = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def from_library(exc: ie.ImmunomeError) -> ApiError:
    """Translate a typed :mod:`immunome.errors` exception into an :class:`ApiError`."""
    for cls, status, code in _MAPPING:
        if isinstance(exc, cls):
            details: dict[str, Any] = {}
            if exc.allowed:
                details["allowed"] = [str(a) for a in exc.allowed[:100]]
            report = getattr(exc, "report", None)
            if report is not None:
                details["report"] = report_to_dict(report)
            return ApiError(status, code, str(exc.message), details=details or None)
    return ApiError(400, "bad_request", str(exc))


def report_to_dict(report: Any) -> dict[str, Any]:
    """A ValidationReport (or anything with ``to_dict``/``issues``) as plain JSON."""
    if isinstance(report, dict):
        return report
    for attr in ("to_dict", "model_dump", "as_dict"):
        fn = getattr(report, attr, None)
        if callable(fn):
            return fn()
    issues = [issue_to_dict(i) for i in getattr(report, "issues", [])]
    errors = sum(i.get("severity") == "error" for i in issues)
    return {
        "ok": errors == 0,
        "errors": errors,
        "warnings": len(issues) - errors,
        "issues": issues,
    }


def issue_to_dict(issue: Any) -> dict[str, Any]:
    """One validation issue as ``{file, line, column, rule, severity, message, allowed}``."""
    if isinstance(issue, dict):
        return issue
    keys = ("file", "line", "column", "rule", "severity", "message", "allowed")
    return {k: _plain(getattr(issue, k, None)) for k in keys}


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, str | int | float | bool):
        return v
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return str(v)
