"""Health, service index, the caller (``/me``) and the data-use agreement."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from immunome.api._access import DUA_TEXT, DUA_VERSION, Caller
from immunome.api._auth import current_caller
from immunome.api._envelope import ok
from immunome.api._errors import ERROR_CODES, ApiError

router = APIRouter(tags=["meta"])


@router.get("/health", summary="Liveness probe")
async def health(request: Request):
    """``{"data": {"status": "ok"}}`` — no store access (the benchmark's reference endpoint)."""
    return ok(request, {"status": "ok"})


@router.get("", summary="Service index")
def index(request: Request):
    """Version, tiers and the main entry points."""
    from immunome import __version__

    return ok(
        request,
        {
            "service": "immunome",
            "version": __version__,
            "tiers": ["public", "researcher", "submitter", "admin"],
            "openapi": "/api/v1/openapi.json",
            "links": {
                "releases": "/api/v1/releases",
                "models": "/api/v1/models",
                "errors": "/api/v1/errors",
                "dua": "/api/v1/dua",
            },
        },
    )


@router.get("/errors", summary="Catalogue of error codes")
def error_codes(request: Request):
    """Every ``error.code`` the API can return, with its HTTP status."""
    return ok(request, ERROR_CODES)


@router.get("/me", summary="Who am I")
async def me(request: Request, caller: Caller = Depends(current_caller)):
    """The caller's tier, site and data-use agreement status."""
    return ok(
        request,
        {
            "name": caller.name,
            "tier": caller.tier,
            "site": caller.site,
            "dua_accepted_at": caller.dua_accepted_at,
            "participant_access": caller.can_read_participants(),
        },
    )


@router.get("/dua", summary="The data-use agreement text")
def dua(request: Request):
    """The current data-use agreement that researchers must accept."""
    return ok(request, {"version": DUA_VERSION, "text": DUA_TEXT})


@router.post("/me/dua", summary="Accept the data-use agreement", status_code=201)
def accept_dua(request: Request, caller: Caller = Depends(current_caller)):
    """Record (with its time) that the calling researcher accepts the DUA."""
    if not caller.authenticated:
        raise ApiError(401, "unauthorized", "accepting the DUA needs a registered researcher token")
    if caller.tier not in ("researcher", "admin"):
        raise ApiError(
            403,
            "forbidden",
            "only researchers accept the data-use agreement",
            details={"allowed": ["researcher", "admin"]},
        )
    at = request.app.state.access.accept_dua(caller.name, request_id=request.state.request_id)
    request.app.state.audit.append(
        user=caller.name,
        tier=caller.tier,
        action="accept_dua",
        resource=DUA_VERSION,
        request_id=request.state.request_id,
    )
    return ok(request, {"version": DUA_VERSION, "accepted_at": at}, status=201)
