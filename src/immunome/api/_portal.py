"""The web portal: server-rendered pages over the same backend and the same suppression.

Pages: overview ``/``, releases ``/releases`` and ``/releases/{ref}``, feature browser
``/features`` and ``/features/{assay}/{feature}``, models ``/models`` and ``/models/{name}``,
prediction ``/predict`` (CSV upload → table + chart), submission ``/submit`` (bundle upload →
validation report as a row/column/rule table). No JavaScript is needed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from immunome.api import _charts
from immunome.api._auth import caller_for_token
from immunome.api._errors import ApiError, from_library, report_to_dict
from immunome.api._params import FEATURE_PATTERN, NAME_PATTERN, REF_PATTERN
from immunome.api._summary import (
    DIMENSIONS,
    counts,
    distribution,
    participant_values,
    public_datasheet,
    suppress_small_groups,
)
from immunome.errors import ImmunomeError

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
CITATION = (
    "Data sources: 10,000 Immunomes Project (Zalocusky et al., Cell Reports 2018; ImmPort) and "
    "CMI-PB (Cell Reports Methods 2024; Shinde et al., PLoS Comput Biol 2025) where imported."
)
_TITLES = {"site": "site", "sex": "sex", "age_band": "age band", "ancestry": "ancestry (race)"}


def _page(request: Request, template: str, /, status: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("title", "immunome")
    return templates.TemplateResponse(
        request,
        template,
        {"citation": CITATION, "k": request.app.state.k_min, **ctx},
        status_code=status,
    )


def _error(request: Request, exc: Exception) -> HTMLResponse:
    e = from_library(exc) if isinstance(exc, ImmunomeError) else exc
    assert isinstance(e, ApiError)
    return _page(request, "error.html", status=e.status, title="error", error=e)


def _check(value: str, pattern: str, what: str) -> str:
    import re

    if not re.match(pattern, value):
        raise ApiError(422, "validation_error", f"invalid {what} {value!r}")
    return value


def _bars(table: dict, dim: str) -> Markup:
    rows = table["rows"]
    return Markup(
        _charts.bar_chart(
            [r[dim] for r in rows], [r["n"] for r in rows], title=f"Participants by {_TITLES[dim]}"
        )
    )


@router.get("/", response_class=HTMLResponse)
def overview(request: Request):
    b = request.app.state.backend
    try:
        rels = b.releases()
        if not rels:
            return _page(request, "overview.html", release=None, charts=[])
        cohort = b.cohort("latest")
        k = request.app.state.k_min
        tables = {
            d: b.cache.setdefault(
                ("summary", cohort.release_id, (d,)), counts(cohort.participants, by=[d], k=k)
            )
            for d in DIMENSIONS
        }
        charts = [_bars(tables[d], d) for d in DIMENSIONS]
        total = len(cohort.participants)
        return _page(
            request,
            "overview.html",
            release=rels[-1],
            charts=charts,
            total=total if total >= k else None,
            n_releases=len(rels),
            cohort=cohort,
        )
    except (ApiError, ImmunomeError) as exc:
        return _error(request, exc)


@router.get("/releases", response_class=HTMLResponse)
def releases(request: Request):
    try:
        return _page(
            request,
            "releases.html",
            title="releases",
            releases=request.app.state.backend.releases()[::-1],
        )
    except (ApiError, ImmunomeError) as exc:
        return _error(request, exc)


@router.get("/releases/{ref}", response_class=HTMLResponse)
def release(request: Request, ref: str):
    try:
        _check(ref, REF_PATTERN, "release")
        b = request.app.state.backend
        cohort = b.cohort(ref)
        sheet = b.cache.setdefault(("datasheet", cohort.release_id), None) or public_datasheet(
            cohort, k=request.app.state.k_min
        )
        b.cache[("datasheet", cohort.release_id)] = sheet
        return _page(
            request,
            "release.html",
            title=f"release {cohort.release_id}",
            cohort=cohort,
            info=b.release_info(ref),
            sheet=sheet,
            dims=DIMENSIONS,
        )
    except (ApiError, ImmunomeError) as exc:
        return _error(request, exc)


@router.get("/features", response_class=HTMLResponse)
def features(request: Request, q: str = "", assay: str = ""):
    try:
        cohort = request.app.state.backend.cohort("latest")
        f = cohort.features
        if assay:
            f = f[f["assay"] == assay]
        if q:
            text = f.astype(str).apply(lambda r: " ".join(r).lower(), axis=1)
            f = f[text.str.contains(q.lower()[:100], regex=False)]
        return _page(
            request,
            "features.html",
            title="features",
            rows=f.head(500).to_dict(orient="records"),
            total=len(f),
            q=q,
            assay=assay,
            assays=cohort.assays,
            cohort=cohort,
        )
    except (ApiError, ImmunomeError) as exc:
        return _error(request, exc)


@router.get("/features/{assay}/{feature}", response_class=HTMLResponse)
def feature(request: Request, assay: str, feature: str, by: str = "site"):
    try:
        _check(assay, NAME_PATTERN, "assay")
        _check(feature, FEATURE_PATTERN, "feature")
        if by not in DIMENSIONS:
            raise ApiError(
                422,
                "validation_error",
                f"unknown dimension {by!r}",
                details={"allowed": list(DIMENSIONS)},
            )
        b = request.app.state.backend
        cohort = b.cohort("latest")
        f = cohort.features
        hit = f[(f["assay"] == assay) & (f["feature"] == feature)]
        if hit.empty:
            raise ApiError(
                404, "not_found", f"no feature {assay}/{feature} in release {cohort.release_id}"
            )
        panels = []
        for layer in [
            lay for lay in ("raw", "normalized", "harmonized") if lay in cohort.layers
        ] or cohort.layers[:1]:
            key = ("dist", cohort.release_id, assay, feature, layer, None, (by,))
            if key not in b.cache:
                vals = participant_values(cohort, assay=assay, feature=feature, layer=layer)
                b.cache[key] = distribution(
                    cohort.participants, vals, by=[by], k=request.app.state.k_min
                )
            dist = b.cache[key]
            svg = _charts.box_chart(
                dist["rows"], label_key=by, title=f"{feature} ({layer}) by {_TITLES[by]}"
            )
            panels.append({"layer": layer, "svg": Markup(svg), "rows": dist["rows"]})
        return _page(
            request,
            "feature.html",
            title=feature,
            info=hit.iloc[0].to_dict(),
            panels=panels,
            by=by,
            dims=DIMENSIONS,
            assay=assay,
            feature=feature,
        )
    except (ApiError, ImmunomeError) as exc:
        return _error(request, exc)


@router.get("/models", response_class=HTMLResponse)
def models(request: Request):
    try:
        return _page(
            request, "models.html", title="models", models=request.app.state.backend.models()
        )
    except (ApiError, ImmunomeError) as exc:
        return _error(request, exc)


def _metric_chart(card: dict) -> Markup | None:
    """Bar chart of the card's headline numbers (errors beside their baselines when present)."""
    metrics = card.get("metrics") or card.get("headline") or {}
    flat: dict[str, float] = {}
    if isinstance(metrics, dict):
        for k, v in metrics.items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                flat[k] = float(v)
            elif isinstance(v, dict):
                flat.update(
                    {
                        f"{k}.{kk}": float(vv)
                        for kk, vv in v.items()
                        if isinstance(vv, int | float) and not isinstance(vv, bool)
                    }
                )
    errors = {k: v for k, v in flat.items() if "mae" in k.lower()}
    shown = errors or flat
    if not shown:
        return None
    title = "Error (MAE) of the model and its baselines" if errors else "Metrics"
    return Markup(_charts.bar_chart(list(shown), list(shown.values()), title=title, fmt="{:.3g}"))


@router.get("/models/{name}", response_class=HTMLResponse)
def model(request: Request, name: str):
    try:
        _check(name, NAME_PATTERN, "model")
        card = suppress_small_groups(
            request.app.state.backend.model_card(name), k=request.app.state.k_min
        )
        return _page(
            request, "model.html", title=name, name=name, card=card, chart=_metric_chart(card)
        )
    except (ApiError, ImmunomeError) as exc:
        return _error(request, exc)


@router.get("/predict", response_class=HTMLResponse)
def predict_form(request: Request):
    try:
        return _page(
            request, "predict.html", title="predict", models=request.app.state.backend.models()
        )
    except (ApiError, ImmunomeError) as exc:
        return _error(request, exc)


@router.post("/predict", response_class=HTMLResponse)
async def predict_upload(
    request: Request,
    model: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
):
    from immunome.api._routes_models import predict_frame, save_table_upload

    b = request.app.state.backend
    try:
        _check(model, NAME_PATTERN, "model")
        with tempfile.TemporaryDirectory(prefix="immunome-predict-") as tmp:
            path = await save_table_upload(request, file, Path(tmp))
            result = await run_in_threadpool(predict_frame, request, model, path)
        pred = result["predictions"]
        num = [c for c in pred.columns if str(pred[c].dtype).startswith(("float", "int"))]
        chart = (
            Markup(_charts.histogram(pred[num[0]].tolist(), title=f"{num[0]} ({model})"))
            if num
            else None
        )
        return _page(
            request,
            "predict.html",
            title="predict",
            models=b.models(),
            model=model,
            columns=list(pred.columns),
            rows=pred.head(1000).to_dict(orient="records"),
            n=len(pred),
            chart=chart,
            warnings=result["warnings"],
        )
    except (ApiError, ImmunomeError) as exc:
        e = from_library(exc) if isinstance(exc, ImmunomeError) else exc
        return _page(
            request,
            "predict.html",
            status=e.status,
            title="predict",
            models=b.models(),
            model=model,
            error=e,
        )


@router.get("/submit", response_class=HTMLResponse)
def submit_form(request: Request):
    return _page(request, "submit.html", title="submit")


@router.post("/submit", response_class=HTMLResponse)
async def submit_upload(
    request: Request,
    token: Annotated[str, Form()],
    bundle: Annotated[UploadFile, File()],
    action: Annotated[str, Form()] = "validate",
):
    from immunome.api._routes_submissions import _result_dict, _validated

    ctx: dict[str, Any] = {"title": "submit", "action": action}
    try:
        caller = caller_for_token(request, token.strip() or None)
        if caller.tier not in ("submitter", "admin"):
            raise ApiError(403, "forbidden", "submissions need a site submitter token")
        with tempfile.TemporaryDirectory(prefix="immunome-upload-") as tmp:
            try:
                path, report = await _validated(request, bundle, caller, Path(tmp))
            except ApiError as e:
                if e.code == "invalid_bundle":
                    return _page(request, "submit.html", report=e.details["report"], **ctx)
                raise
            ctx["report"] = report_to_dict(report)
            if action == "submit":
                result = _result_dict(
                    await run_in_threadpool(request.app.state.backend.submit, path)
                )
                request.app.state.audit.append(
                    user=caller.name,
                    tier=caller.tier,
                    action="submit",
                    resource=str(result.get("submission_id")),
                    request_id=request.state.request_id,
                )
                ctx["result"] = result
        return _page(request, "submit.html", **ctx)
    except (ApiError, ImmunomeError) as exc:
        e = from_library(exc) if isinstance(exc, ImmunomeError) else exc
        return _page(request, "submit.html", status=e.status, error=e, **ctx)
