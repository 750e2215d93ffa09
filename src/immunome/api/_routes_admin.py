"""Admin: users, tokens and the audit log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from immunome.api._access import Caller
from immunome.api._auth import require_admin
from immunome.api._envelope import Page, ok, page_params
from immunome.api._errors import ApiError
from immunome.api._params import SITE_PATTERN

router = APIRouter(prefix="/admin", tags=["admin"])
UserName = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_.@-]{2,64}$")]


class NewUser(BaseModel):
    """A user to register."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.@-]{2,64}$")
    tier: Literal["public", "researcher", "submitter", "admin"]
    site: str | None = Field(default=None, pattern=SITE_PATTERN)
    email: str | None = Field(default=None, max_length=200)


@router.get("/users", summary="List users")
def users(request: Request, _: Caller = Depends(require_admin)):
    """Users with tier, site, live token count and DUA time (never token hashes)."""
    return ok(request, request.app.state.access.users())


@router.post("/users", summary="Register a user", status_code=201)
def add_user(request: Request, body: NewUser, caller: Caller = Depends(require_admin)):
    """Register a user (409 if the name exists)."""
    access = request.app.state.access
    if any(u["name"] == body.name for u in access.users()):
        raise ApiError(409, "conflict", f"user {body.name!r} already exists")
    user = access.add_user(body.name, tier=body.tier, site=body.site, email=body.email)
    request.app.state.audit.append(
        user=caller.name,
        tier=caller.tier,
        action="add_user",
        resource=body.name,
        request_id=request.state.request_id,
    )
    return ok(request, user, status=201)


@router.post("/users/{name}/tokens", summary="Create a token", status_code=201)
def create_token(request: Request, name: UserName, caller: Caller = Depends(require_admin)):
    """A new API token for ``name``; shown once, stored as sha256."""
    access = request.app.state.access
    if not any(u["name"] == name for u in access.users()):
        raise ApiError(404, "not_found", f"unknown user {name!r}")
    token = access.create_token(name)
    request.app.state.audit.append(
        user=caller.name,
        tier=caller.tier,
        action="create_token",
        resource=name,
        request_id=request.state.request_id,
    )
    return ok(request, {"name": name, "token": token}, status=201)


@router.delete("/tokens/{token_id}", summary="Revoke a token")
def revoke(
    request: Request,
    token_id: Annotated[str, PathParam(pattern=r"^t-[0-9a-f]{12}$")],
    caller: Caller = Depends(require_admin),
):
    """Revoke one token by id (effective on the next request)."""
    access = request.app.state.access
    if not any(t["token_id"] == token_id and t["revoked_at"] is None for t in access.tokens()):
        raise ApiError(404, "not_found", f"no live token {token_id!r}")
    n = access.revoke(token_id)
    request.app.state.audit.append(
        user=caller.name,
        tier=caller.tier,
        action="revoke_token",
        resource=token_id,
        request_id=request.state.request_id,
    )
    return ok(request, {"revoked": n})


@router.get("/audit", summary="Audit log")
def audit(request: Request, page: Page = Depends(page_params), _: Caller = Depends(require_admin)):
    """Audit entries, oldest first (paged); ``meta.verified`` = entries whose hash chain holds."""
    log = request.app.state.audit
    items, meta = page.slice(log.entries())
    meta["verified"] = log.verify()
    return ok(request, items, page=meta)
