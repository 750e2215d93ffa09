"""Participant-level, pseudonymised release data for researchers (DUA recorded) and admins.

Every call is written to the append-only audit log (who, what, which release, how many rows).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from immunome.api._access import Caller
from immunome.api._auth import participant_reader
from immunome.api._envelope import Page, ok, page_params
from immunome.api._errors import ApiError
from immunome.api._params import NAME_PATTERN, ReleaseRef
from immunome.api._routes_releases import _audit

router = APIRouter(tags=["participant-level (researcher)"])


@router.get("/releases/{ref}/participants", summary="Participants (researcher)")
def participants(
    request: Request,
    ref: ReleaseRef,
    page: Page = Depends(page_params),
    caller: Caller = Depends(participant_reader),
):
    """Pseudonymised participants of a release (paged). Audited."""
    return _paged_table(request, ref, page, caller, "participants")


@router.get("/releases/{ref}/samples", summary="Samples (researcher)")
def samples(
    request: Request,
    ref: ReleaseRef,
    page: Page = Depends(page_params),
    caller: Caller = Depends(participant_reader),
):
    """Samples of a release (paged). Audited."""
    return _paged_table(request, ref, page, caller, "samples")


@router.get("/releases/{ref}/measurements", summary="Measurements (researcher)")
def measurements(
    request: Request,
    ref: ReleaseRef,
    assay: Annotated[str, Query(pattern=NAME_PATTERN, description="assay id")],
    page: Page = Depends(page_params),
    layer: Annotated[str, Query(pattern=NAME_PATTERN)] = "raw",
    caller: Caller = Depends(participant_reader),
):
    """Tidy ``sample_id, assay, feature, value`` rows of one assay and layer (paged). Audited."""
    cohort = request.app.state.backend.cohort(ref)
    if assay not in cohort.assays:
        raise ApiError(
            404,
            "not_found",
            f"release {cohort.release_id} has no assay {assay!r}",
            details={"allowed": cohort.assays},
        )
    if layer not in cohort.layers:
        raise ApiError(
            404,
            "not_found",
            f"release {cohort.release_id} has no layer {layer!r}",
            details={"allowed": cohort.layers},
        )
    items, meta = page.slice(cohort.tidy(assay=assay, layer=layer))
    _audit(
        request,
        caller,
        "measurements",
        cohort.release_id,
        rows=len(items),
        page=page.page,
        assay=assay,
        layer=layer,
    )
    return ok(request, items, page=meta)


def _paged_table(request: Request, ref: str, page: Page, caller: Caller, table: str):
    """One page of a release's ``participants`` or ``samples`` table, audited."""
    cohort = request.app.state.backend.cohort(ref)
    items, meta = page.slice(getattr(cohort, table).reset_index())
    _audit(request, caller, table, cohort.release_id, rows=len(items), page=page.page)
    return ok(request, items, page=meta)
