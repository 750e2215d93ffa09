"""Models: list, card, and predictions on JSON rows or an uploaded CSV (public).

Predictions go through the model's own input-schema checks (the same as the CLI): unknown
categories or missing features give 422 ``schema_mismatch`` with the allowed values.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from immunome.api._envelope import ok
from immunome.api._errors import ApiError
from immunome.api._params import ModelName
from immunome.api._summary import suppress_small_groups
from immunome.api._uploads import MAX_CSV_ROWS, check_table_upload

router = APIRouter(tags=["models"])


class PredictRows(BaseModel):
    """Rows to predict on: one object per participant/sample, keys = the model's input features."""

    model_config = ConfigDict(extra="forbid")
    rows: list[dict[str, str | int | float | bool | None]] = Field(
        min_length=1, max_length=MAX_CSV_ROWS
    )


@router.get("/models", summary="List models")
def list_models(request: Request):
    """Every registered model with its card summary."""
    return ok(request, request.app.state.backend.models())


@router.get("/models/{name}", summary="Model card")
def model_card(request: Request, name: ModelName):
    """The model card: intended use, training data (release), input schema, metrics, limitations."""
    card = request.app.state.backend.model_card(name)
    return ok(request, suppress_small_groups(card, k=request.app.state.k_min))


def predict_frame(request: Request, name: str, rows: pd.DataFrame | Path) -> dict[str, Any]:
    """Predict and collect warnings (e.g. out-of-distribution rows) for the response."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = request.app.state.backend.predict(name, rows)
    return {
        "model": name,
        "n": len(out),
        "predictions": out.reset_index(drop=out.index.name is None),
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
    }


@router.post("/models/{name}/predict", summary="Predict on JSON rows")
def predict(request: Request, name: ModelName, body: PredictRows):
    """Predict on ``{"rows": [{feature: value, …}, …]}`` (at most 10 000 rows)."""
    return ok(request, predict_frame(request, name, pd.DataFrame(body.rows)))


@router.post("/models/{name}/predict/csv", summary="Predict on an uploaded CSV")
async def predict_csv(
    request: Request,
    name: ModelName,
    file: Annotated[UploadFile, File(description="CSV/TSV with one row per participant or sample")],
):
    """Predict on an uploaded CSV or TSV (header = the model's input features), read exactly as
    ``immunome model predict`` reads a file."""
    with tempfile.TemporaryDirectory(prefix="immunome-predict-") as tmp:
        path = await save_table_upload(request, file, Path(tmp))
        result = await run_in_threadpool(predict_frame, request, name, path)
    return ok(request, result)


async def save_table_upload(request: Request, file: UploadFile, folder: Path) -> Path:
    """Save an uploaded CSV/TSV under a fixed name (the suffix picks the parser)."""
    data = await file.read(request.app.state.max_upload_bytes + 1)
    if len(data) > request.app.state.max_upload_bytes:
        raise ApiError(413, "payload_too_large", "upload exceeds the server limit")
    check_table_upload(data)
    suffix = ".tsv" if (file.filename or "").lower().endswith((".tsv", ".txt")) else ".csv"
    path = folder / f"rows{suffix}"
    path.write_bytes(data)
    return path
