"""Releases: list, show, datasheet, files, suppressed summaries, feature catalogue/distributions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from immunome.api._access import Caller
from immunome.api._auth import check_participant_access, current_caller
from immunome.api._envelope import Page, encode_data, ok, ok_encoded, page_params
from immunome.api._errors import ApiError
from immunome.api._params import (
    NAME_PATTERN,
    SEARCH_PATTERN,
    Assay,
    By,
    FeatureId,
    ReleaseRef,
    parse_by,
)
from immunome.api._summary import counts, distribution, participant_values, public_datasheet

router = APIRouter(tags=["releases"])

PUBLIC_FILES = frozenset({"manifest.json", "features.parquet"})


def _cached(request: Request, key: tuple, build):
    cache = request.app.state.backend.cache
    if key not in cache:
        cache[key] = build()
    return cache[key]


async def _cached_async(request: Request, key: tuple, build):
    """Serve from the per-release cache on the event loop; compute a miss in the threadpool."""
    cache = request.app.state.backend.cache
    if key not in cache:
        cache[key] = await run_in_threadpool(build)
    return cache[key]


@router.get("/releases", summary="List releases")
def list_releases(request: Request, page: Page = Depends(page_params)):
    """Every release, oldest first (id, time, label, parent, layers, headline counts)."""
    items, meta = page.slice(_public_rows(request, request.app.state.backend.releases()))
    return ok(request, items, page=meta)


def _public_rows(request: Request, rows: list[dict]) -> list[dict]:
    k = request.app.state.k_min
    out = []
    for r in rows:
        r = dict(r)
        r["counts"] = {key: (v if v >= k else None) for key, v in (r.get("counts") or {}).items()}
        out.append(r)
    return out


@router.get("/releases/{ref}", summary="Show one release")
def show_release(request: Request, ref: ReleaseRef):
    """One release: identity, parent, layers, assays, protocols and provenance."""
    b = request.app.state.backend
    info = _public_rows(request, [b.release_info(ref)])[0]
    cohort = b.cohort(ref)
    info.update(
        assays=cohort.assays,
        layers=cohort.layers,
        protocols=cohort.manifest.get("protocols", []),
        provenance=cohort.manifest.get("provenance", []),
    )
    return ok(request, info)


@router.get("/releases/{ref}/datasheet", summary="Release datasheet")
def datasheet(request: Request, ref: ReleaseRef, caller: Caller = Depends(current_caller)):
    """Public: every count suppressed (n < k plus complements). Researchers with a DUA and admins
    get the full datasheet (an audited participant-level access)."""
    b = request.app.state.backend
    cohort = b.cohort(ref)
    if caller.can_read_participants():
        _audit(request, caller, "datasheet", cohort.release_id, rows=None)
        return ok(request, {"level": "full", **cohort.datasheet})
    sheet = _cached(
        request,
        ("datasheet", cohort.release_id),
        lambda: public_datasheet(cohort, k=request.app.state.k_min),
    )
    return ok(request, {"level": "public", **sheet})


@router.get("/releases/{ref}/files", summary="Files of a release")
def list_files(request: Request, ref: ReleaseRef, caller: Caller = Depends(current_caller)):
    """Every file with its sha256 and whether the caller may download it."""
    cohort = request.app.state.backend.cohort(ref)
    files = sorted(cohort.manifest.get("files", {}).items())
    rows = [{"path": "manifest.json", "sha256": None, "public": True, "allowed": True}]
    rows += [
        {
            "path": p,
            "sha256": h,
            "public": p in PUBLIC_FILES,
            "allowed": p in PUBLIC_FILES or caller.can_read_participants(),
        }
        for p, h in files
    ]
    return ok(request, rows)


@router.get(
    "/releases/{ref}/files/{path:path}",
    summary="Download a release file",
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download(
    request: Request, ref: ReleaseRef, path: str, caller: Caller = Depends(current_caller)
):
    """Only paths listed in the release manifest are served (no filesystem path is built from
    the request otherwise). Participant-level files need the researcher tier and are audited."""
    b = request.app.state.backend
    cohort = b.cohort(ref)
    listed = set(cohort.manifest.get("files", {})) | {"manifest.json"}
    if path not in listed:
        raise ApiError(
            404,
            "not_found",
            f"release {cohort.release_id} has no file {path!r}",
            details={"files": "/api/v1/releases/{ref}/files"},
        )
    if path not in PUBLIC_FILES:
        check_participant_access(caller)
        _audit(request, caller, "download", cohort.release_id, file=path)
    full = (b.release_dir(ref) / path).resolve()
    if not full.is_relative_to(b.release_dir(ref).resolve()) or not full.is_file():
        raise ApiError(404, "not_found", f"release file {path!r} is missing")
    return FileResponse(
        full, filename=full.name, headers={"x-request-id": request.state.request_id}
    )


@router.get("/releases/{ref}/summary", summary="Participant counts (suppressed)")
async def summary(request: Request, ref: ReleaseRef, by: By = ["site"]):  # noqa: B006
    """Counts of participants by up to two of site, sex, age_band, ancestry. Cells with n < k are
    hidden, plus complementary cells so no hidden cell can be derived from this table and the
    marginal tables (``reason`` says which)."""
    dims = parse_by(by)
    cohort = request.app.state.backend.cohort(ref)
    k = request.app.state.k_min

    def build() -> bytes:
        data = counts(cohort.participants, by=dims, k=k)
        return encode_data({"release_id": cohort.release_id, **data})

    key = ("summary-json", cohort.release_id, tuple(dims))
    return ok_encoded(request, await _cached_async(request, key, build))


@router.get("/releases/{ref}/features", summary="Feature catalogue")
def features(
    request: Request,
    ref: ReleaseRef,
    page: Page = Depends(page_params),
    assay: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
    q: Annotated[
        str | None,
        Query(pattern=SEARCH_PATTERN, description="text search: letters, digits, spaces, _.,:+()-"),
    ] = None,
):
    """Features with unit, kind, ontology term (Cell Ontology for populations), population,
    denominator and markers."""
    cohort = request.app.state.backend.cohort(ref)
    f = cohort.features
    if assay is not None:
        f = f[f["assay"] == assay]
    if q:
        text = f.astype(str).apply(lambda r: " ".join(r).lower(), axis=1)
        f = f[text.str.contains(q.lower(), regex=False)]
    items, meta = page.slice(f.reset_index(drop=True))
    return ok(request, items, page=meta)


@router.get("/releases/{ref}/features/{assay}/{feature}", summary="One feature")
def feature(request: Request, ref: ReleaseRef, assay: Assay, feature: FeatureId):
    """Catalogue entry of one feature, and the layers it can be viewed in."""
    cohort = request.app.state.backend.cohort(ref)
    return ok(request, {**_feature_row(cohort, assay, feature), "layers": cohort.layers})


def _feature_row(cohort, assay: str, feature: str) -> dict:
    f = cohort.features
    hit = f[(f["assay"] == assay) & (f["feature"] == feature)]
    if hit.empty:
        raise ApiError(
            404,
            "not_found",
            f"release {cohort.release_id} has no feature {assay}/{feature}",
            details={"assays": cohort.assays},
        )
    return hit.iloc[0].to_dict()


@router.get(
    "/releases/{ref}/features/{assay}/{feature}/distribution",
    summary="Feature distribution (suppressed)",
)
async def feature_distribution(
    request: Request,
    ref: ReleaseRef,
    assay: Assay,
    feature: FeatureId,
    by: By = ["site"],  # noqa: B006
    layer: Annotated[str, Query(pattern=NAME_PATTERN)] = "raw",
    visit: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None,
):
    """n, mean, sd and quartiles per group (one value per participant: the given visit, else
    the first sample). Groups hidden by the count suppression show no statistics."""
    dims = parse_by(by)
    cohort = request.app.state.backend.cohort(ref)
    row = _feature_row(cohort, assay, feature)
    if layer not in cohort.layers:
        raise ApiError(
            404,
            "not_found",
            f"release {cohort.release_id} has no layer {layer!r}",
            details={"allowed": cohort.layers},
        )
    visits = sorted(map(str, cohort.samples["visit"].dropna().unique())) if visit else []
    if visit is not None and visit not in visits:
        raise ApiError(
            404,
            "not_found",
            f"release {cohort.release_id} has no visit {visit!r}",
            details={"allowed": visits},
        )
    k = request.app.state.k_min

    def build():
        values = participant_values(cohort, assay=assay, feature=feature, layer=layer, visit=visit)
        return distribution(cohort.participants, values, by=dims, k=k)

    data = await _cached_async(
        request, ("dist", cohort.release_id, assay, feature, layer, visit, tuple(dims)), build
    )
    return ok(
        request,
        {
            "release_id": cohort.release_id,
            "assay": assay,
            "feature": feature,
            "unit": row.get("unit"),
            "layer": layer,
            "visit": visit,
            **data,
        },
    )


def _audit(request: Request, caller: Caller, action: str, release_id: str, **fields) -> None:
    request.app.state.audit.append(
        user=caller.name,
        tier=caller.tier,
        action=action,
        resource=str(request.url.path),
        release_id=release_id,
        request_id=request.state.request_id,
        client=request.client.host if request.client else None,
        **fields,
    )
