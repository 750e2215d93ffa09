"""Site submissions: upload a bundle (.zip) → validation report → ingested if valid; status.

A site submitter may only validate, submit and see bundles of its own site (the site is read
from the bundle's manifest by the store's own validator). Other sites' submissions are 404.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool

from immunome.api._access import Caller
from immunome.api._auth import require_submitter
from immunome.api._envelope import Page, ok, page_params
from immunome.api._errors import ApiError, report_to_dict
from immunome.api._params import SITE_PATTERN
from immunome.api._uploads import check_bundle_zip, save_upload

router = APIRouter(tags=["submissions (site submitter)"])
BundleFile = Annotated[
    UploadFile, File(description="submission bundle as a .zip (immunome-bundle/1)")
]


async def _validated(
    request: Request, upload: UploadFile, caller: Caller, tmp: Path
) -> tuple[Path, Any]:
    max_bytes = request.app.state.max_upload_bytes
    path = await save_upload(upload, tmp / "bundle.zip", max_bytes=max_bytes)
    check_bundle_zip(path, max_bytes=max_bytes)
    report = await run_in_threadpool(request.app.state.backend.validate, path)
    site = getattr(report, "site", None)
    if caller.tier != "admin" and site is not None and site != caller.site:
        raise ApiError(
            403,
            "forbidden",
            f"your token submits for site {caller.site!r}, not {site!r}",
            details={"allowed": [caller.site]},
        )
    if not getattr(report, "ok", False):
        raise ApiError(
            422,
            "invalid_bundle",
            "the bundle has validation errors; nothing was ingested",
            details={"report": report_to_dict(report)},
        )
    if caller.tier != "admin" and site != caller.site:
        raise ApiError(
            403,
            "forbidden",
            "the bundle's manifest names no site",
            details={"allowed": [caller.site]},
        )
    return path, report


@router.post("/submissions/validate", summary="Validate a bundle (writes nothing)")
async def validate(
    request: Request, bundle: BundleFile, caller: Caller = Depends(require_submitter)
):
    """200 with the report when valid (warnings allowed); 422 ``invalid_bundle`` with
    ``details.report`` (every issue as file/line/column/rule) when not."""
    with tempfile.TemporaryDirectory(prefix="immunome-upload-") as tmp:
        _, report = await _validated(request, bundle, caller, Path(tmp))
    return ok(request, {"report": report_to_dict(report)})


@router.post("/submissions", summary="Submit a bundle", status_code=201)
async def submit(request: Request, bundle: BundleFile, caller: Caller = Depends(require_submitter)):
    """Validate then ingest atomically. 201 with the submission result; 422 with the report if
    invalid; 403 if the bundle is for another site."""
    with tempfile.TemporaryDirectory(prefix="immunome-upload-") as tmp:
        path, report = await _validated(request, bundle, caller, Path(tmp))
        result = await run_in_threadpool(request.app.state.backend.submit, path)
    data = _result_dict(result)
    request.app.state.audit.append(
        user=caller.name,
        tier=caller.tier,
        action="submit",
        resource=str(data.get("submission_id")),
        site=getattr(report, "site", None),
        request_id=request.state.request_id,
    )
    return ok(request, {"result": data, "report": report_to_dict(report)}, status=201)


def _result_dict(result: Any) -> dict[str, Any]:
    for attr in ("to_dict", "model_dump"):
        fn = getattr(result, attr, None)
        if callable(fn):
            return fn()
    if hasattr(result, "__dataclass_fields__"):
        from dataclasses import asdict

        d = asdict(result)
        d.pop("report", None)
        return {
            k: (v if isinstance(v, str | int | float | bool | type(None) | list | dict) else str(v))
            for k, v in d.items()
        }
    return dict(result) if isinstance(result, dict) else {"result": str(result)}


def _visible(caller: Caller, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows if caller.tier == "admin" else [r for r in rows if r.get("site") == caller.site]


@router.get("/submissions", summary="List submissions")
def list_submissions(
    request: Request,
    page: Page = Depends(page_params),
    site: Annotated[str | None, Query(pattern=SITE_PATTERN)] = None,
    caller: Caller = Depends(require_submitter),
):
    """Submissions of the caller's site (admins: every site, or ``?site=``)."""
    if site is not None and caller.tier != "admin" and site != caller.site:
        raise ApiError(
            403,
            "forbidden",
            f"your token sees site {caller.site!r} only",
            details={"allowed": [caller.site]},
        )
    rows = _visible(caller, request.app.state.backend.submissions())
    if site is not None:
        rows = [r for r in rows if r.get("site") == site]
    items, meta = page.slice(rows)
    return ok(request, items, page=meta)


@router.get("/submissions/{submission_id}", summary="Submission status")
def show_submission(
    request: Request,
    submission_id: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_.-]{1,80}$")],
    caller: Caller = Depends(require_submitter),
):
    """One submission of the caller's site (404 for other sites' submissions)."""
    for row in _visible(caller, request.app.state.backend.submissions()):
        if row.get("submission_id") == submission_id:
            return ok(request, row)
    raise ApiError(404, "not_found", f"no submission {submission_id!r} for your site")
