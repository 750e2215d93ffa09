"""Access tiers as FastAPI dependencies.

* no token → public: aggregates, catalogue, model cards, predictions;
* ``researcher`` → participant-level pseudonymised data, once the data-use agreement is recorded;
* ``submitter`` → submissions of its own site only;
* ``admin`` → everything, plus users and the audit log.

A token that is present but unknown or revoked is a 401 — never a silent downgrade to public.

Example:
    >>> Caller(tier="researcher").can_read_participants()
    False
"""

from __future__ import annotations

from fastapi import Depends, Request

from immunome.api._access import ANONYMOUS, Caller
from immunome.api._errors import ApiError

__all__ = ["Caller", "current_caller", "participant_reader", "require_admin", "require_submitter"]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "use the header 'Authorization: Bearer <token>'")
    return token.strip()


def caller_for_token(request: Request, token: str | None) -> Caller:
    """Resolve a token (or None) to the caller; 401 for unknown or revoked tokens."""
    if token is None:
        return ANONYMOUS
    if len(token) > 200:
        raise ApiError(401, "unauthorized", "unknown or revoked token")
    caller = request.app.state.access.authenticate(token)
    if caller is None:
        raise ApiError(401, "unauthorized", "unknown or revoked token")
    return caller


async def current_caller(request: Request) -> Caller:
    """The caller of this request (anonymous callers are the public tier)."""
    caller = caller_for_token(request, _bearer(request))
    request.state.caller = caller
    return caller


def participant_reader(caller: Caller = Depends(current_caller)) -> Caller:
    """Researchers who accepted the DUA, and admins."""
    return check_participant_access(caller)


def check_participant_access(caller: Caller) -> Caller:
    """Raise 401/403 (``dua_required``) unless ``caller`` may read participant-level data."""
    if not caller.authenticated:
        raise ApiError(401, "unauthorized", "participant-level data needs a researcher token")
    if caller.tier == "researcher" and caller.dua_accepted_at is None:
        raise ApiError(
            403,
            "dua_required",
            "accept the data-use agreement first: POST /api/v1/me/dua",
            details={"dua": "/api/v1/dua"},
        )
    if not caller.can_read_participants():
        raise ApiError(
            403,
            "forbidden",
            f"tier {caller.tier!r} cannot read participant-level data",
            details={"allowed": ["researcher", "admin"]},
        )
    return caller


def require_submitter(caller: Caller = Depends(current_caller)) -> Caller:
    """Site submitters (scoped to their site) and admins."""
    if not caller.authenticated:
        raise ApiError(401, "unauthorized", "submissions need a site submitter token")
    if caller.tier not in ("submitter", "admin"):
        raise ApiError(
            403,
            "forbidden",
            f"tier {caller.tier!r} cannot submit",
            details={"allowed": ["submitter", "admin"]},
        )
    return caller


def require_admin(caller: Caller = Depends(current_caller)) -> Caller:
    """Admins only."""
    if not caller.authenticated:
        raise ApiError(401, "unauthorized", "this needs an admin token")
    if caller.tier != "admin":
        raise ApiError(403, "forbidden", "admins only", details={"allowed": ["admin"]})
    return caller
