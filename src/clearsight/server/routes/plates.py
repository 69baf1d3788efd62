"""Licence plates: read the plates of one photo, search past reads, export a crop, purge.

Reading a photo (`POST /v1/plates/read`) stores nothing, like `/v1/detect`: it is an
analysis a client may run. Past reads are personal data: searching them needs
`plates:search`, takes a wildcard pattern that names part of a plate (`AB?12*`: `?`
one character, `*` any run), and every search, CSV download and crop download is an
entry in the audit log (`GET /v1/audit?action=plates.search`).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ...errors import ModelError
from ...io import load_image
from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..inputs import image_body_openapi, parse_image_request
from ..state import ServiceState
from ..schemas import RowIdPath

router = APIRouter(prefix="/v1/plates", tags=["plates"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)

Country = Literal["auto", "cn", "eu", "us", "br"]


class PlateReadersUnavailableError(ModelError):
    code = "plate_readers_unavailable"


class PlateReadParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: Country = Field("auto", description="Plate formats to expect; auto tries every format.")


class PlateOut(BaseModel):
    text: str = Field(description="A-Z and 0-9 without separators; Chinese plates keep their province character.")
    confidence: float = Field(description="0-1")
    box: list[float] = Field(description="[x1, y1, x2, y2] in original-image pixels")
    country: str = Field(description="cn, eu, us or br")


class PlateReadOut(BaseModel):
    width: int
    height: int
    plates: list[PlateOut]


class StoredReadOut(BaseModel):
    id: int
    camera: str
    at: str
    text: str
    confidence: float
    country: str
    track_id: int | None
    votes: int
    purpose: str
    has_crop: bool


class StoredReadPage(BaseModel):
    items: list[StoredReadOut]
    pattern: str
    limit: int


class PlatePurgeOut(BaseModel):
    deleted: int = Field(description="stored plate reads deleted")
    events_deleted: int = Field(description="plate.* events deleted from the event timeline")
    before: str


@router.post("/read", response_model=PlateReadOut,
             openapi_extra=image_body_openapi(PlateReadParams, ("image",), ("image",)))
async def read_plates(
    request: Request, key: ApiKey = Depends(require(Permission.ANALYZE)), state: ServiceState = Depends(get_state)
) -> PlateReadOut:
    """Every plate in the photo (`plates: []` when there is none). Nothing is stored."""
    params, images = await parse_image_request(request, PlateReadParams, ("image",), ("image",))

    def work() -> PlateReadOut:
        rgb = load_image(images["image"])
        try:
            from ...vision.plates import read_plates as read
        except ImportError as exc:
            raise PlateReadersUnavailableError(f"the plate readers are not installed in this build ({exc.name})") from None
        with state.plate_inference:
            found = read(rgb, country=params.country)
        return PlateReadOut(width=rgb.shape[1], height=rgb.shape[0], plates=[
            PlateOut(text=p.text, confidence=round(float(p.confidence), 4),
                     box=[round(float(v), 1) for v in p.box.as_xyxy()], country=p.country) for p in found])

    return await run_in_threadpool(work)


@router.get("/reads", response_model=StoredReadPage, responses={200: {"content": {"text/csv": {}}}})
def search_reads(
    q: str = Query(min_length=1, max_length=40, description="plate pattern: `?` one character, `*` any run, e.g. AB?12*"),
    camera: str | None = Query(None, min_length=1, max_length=255, description="only this camera's reads"),
    since: datetime | None = Query(None, description="reads at or after (ISO 8601, or Unix seconds)"),
    until: datetime | None = Query(None, description="reads at or before (ISO 8601, or Unix seconds)"),
    limit: int = Query(100, ge=1, le=10_000, description="most reads returned (capped by plates.search_limit)"),
    format: Literal["json", "csv"] = Query("json", description="csv: a download (audited as an export too)"),
    key: ApiKey = Depends(require(Permission.PLATES_SEARCH)),
    state: ServiceState = Depends(get_state),
):  # noqa: ANN201 - JSON page or CSV
    """Past plate reads matching `q`, newest first; audited with the pattern and the result count."""
    store = state.plates
    reads = store.search(q, actor=key.actor, camera=camera, since=since, until=until, limit=limit)
    if format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["id", "camera", "at", "text", "confidence", "country", "track_id", "votes", "purpose"])
        for r in reads:
            d = r.to_dict()
            w.writerow([d[k] for k in ("id", "camera", "at", "text", "confidence", "country", "track_id", "votes",
                                       "purpose")])
        store.record_export(actor=key.actor, pattern=q, count=len(reads), fmt="csv")
        return Response(buf.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="plate-reads.csv"'})
    return StoredReadPage(items=[StoredReadOut(**r.to_dict()) for r in reads], pattern=q,
                          limit=min(limit, state.settings.plates.search_limit))


@router.get("/reads/{read_id}/crop", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}, "description": "the plate crop (JPEG)"}})
def read_crop(
    read_id: RowIdPath,
    key: ApiKey = Depends(require(Permission.PLATES_SEARCH)),
    state: ServiceState = Depends(get_state),
) -> Response:
    """The plate crop of one stored read (an export of personal data: audited)."""
    return Response(state.plates.crop(read_id, actor=key.actor), media_type="image/jpeg",
                    headers={"Cache-Control": "no-store"})


@router.post("/retention/purge", response_model=PlatePurgeOut)
def purge_reads(
    key: ApiKey = Depends(require(Permission.RETENTION)), state: ServiceState = Depends(get_state)
) -> PlatePurgeOut:
    """Delete the reads older than `plates.retention_days` now (the service also does it hourly)."""
    return PlatePurgeOut(**state.plates.apply_retention(actor=key.actor).to_dict())
