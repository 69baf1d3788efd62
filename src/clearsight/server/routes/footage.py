"""Footage search: index video files on the server by face, find a person in them by a photo.

- `POST /v1/footage/index` {"paths": [...]}: files under the media roots (`server.remote.media_roots`,
  as for camera sources); indexing runs in the background, one run at a time (`202`).
  `GET /v1/footage/videos` shows each video's status and progress (`frames_done`).
  Needs `footage:index` (admins: it opens local files).
- `POST /v1/footage/search` (a photo, `purpose` investigation | missing_person, `legal_basis`):
  candidates for human review, each with its video, start-end time, similarity and
  `thumbnail_url`; refused without both, audited either way. Needs `footage:search`.
- `GET /v1/footage/tracks/{id}/thumbnail`: a candidate's face (JPEG; audited as an export).
- `DELETE /v1/footage/videos/{id}`: erase a video's tracks, templates and thumbnails (audited).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ...errors import InputError
from ...io.remote import check_local_path
from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..inputs import image_body_openapi, parse_image_request
from ..state import ServiceState
from ..schemas import RowIdPath

router = APIRouter(prefix="/v1/footage", tags=["footage"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)


class IndexRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paths: list[str] = Field(min_length=1, max_length=1000,
                             description="video files under the media roots (absolute, or relative to the first root)")


class IndexAccepted(BaseModel):
    accepted: list[str] = Field(description="resolved paths queued for indexing, in order")


class VideoOut(BaseModel):
    video_id: str
    path: str
    status: str = Field(description="indexing | done | failed (an interrupted run stays `indexing` until resumed)")
    duration_s: float | None
    fps: float | None
    width: int | None
    height: int | None
    frames_done: int
    tracks: int
    error: str | None


class SearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: str | None = Field(
        None, max_length=32, description="required: investigation | missing_person (footage is searched only to "
        "investigate or to find a missing person; any other purpose is refused and audited)")
    legal_basis: str | None = Field(None, max_length=255, description="required: e.g. court_order 2026/114, "
                                    "vital_interests; never consent (the person sought has not consented)")
    top_k: int | None = Field(None, ge=1, le=1000, description="candidates to return (default footage.top_k)")


class HitOut(BaseModel):
    track_id: int
    video_id: str
    video: str
    start_s: float
    end_s: float
    best_s: float = Field(description="offset of the best shot (the thumbnail's frame)")
    start_frame: int
    end_frame: int
    span: str = Field(description="start-end as m:ss.s")
    similarity: float
    above_threshold: bool = Field(description="past the candidates threshold: review first; never a match")
    box: dict[str, float] | None = Field(None, description="the best shot's face box in its frame (pixels)")
    thumbnail_url: str


class SearchOut(BaseModel):
    purpose: str
    mode: str = Field(description="always candidates: a list for a person to review")
    review: str
    threshold: float | None
    fpir: float
    n: int = Field(description="face tracks searched")
    model: str
    hits: list[HitOut]


@router.post("/index", response_model=IndexAccepted, status_code=202)
def index_videos(body: IndexRequest, key: ApiKey = Depends(require(Permission.FOOTAGE_INDEX)),
                 state: ServiceState = Depends(get_state)) -> IndexAccepted:
    """Queue files for indexing (resumable; a video indexed before is skipped). Every path is
    checked first: one outside the media roots refuses the whole request."""
    roots = state.settings.media_roots(state.server.remote)
    paths = [str(check_local_path(p, roots, "paths")) for p in body.paths]
    lib = state.footage
    jobs = state.footage_jobs
    assert jobs is not None
    jobs.submit(lib.index_videos, paths, actor=key.actor)
    return IndexAccepted(accepted=paths)


@router.get("/videos", response_model=list[VideoOut])
def list_videos(_: ApiKey = Depends(require(Permission.FOOTAGE_INDEX)),
                state: ServiceState = Depends(get_state)) -> list[VideoOut]:
    """Indexed (and indexing) videos with their progress and face-track counts."""
    return [VideoOut(**v.to_dict()) for v in state.footage.videos()]


@router.delete("/videos/{video_id}", status_code=204, response_class=Response)
def erase_video(video_id: str = Path(min_length=1, max_length=36),
                key: ApiKey = Depends(require(Permission.FOOTAGE_INDEX)),
                state: ServiceState = Depends(get_state)) -> Response:
    state.footage.erase_video(video_id, actor=key.actor)
    return Response(status_code=204)


@router.post("/search", response_model=SearchOut,
             openapi_extra=image_body_openapi(SearchParams, ("image",), ("image",)))
async def search_footage(request: Request, key: ApiKey = Depends(require(Permission.FOOTAGE_SEARCH)),
                         state: ServiceState = Depends(get_state)) -> SearchOut:
    """Appearances of the photo's face in indexed footage, best first, for human review."""
    params, images = await parse_image_request(request, SearchParams, ("image",), ())
    lib = state.footage

    def work() -> SearchOut:
        lib.check_request(params.purpose, params.legal_basis, key.actor)  # refused (and audited) before the photo
        if "image" not in images:
            raise InputError("`image` (a photo of the person sought) is required")
        res = lib.search(images["image"], purpose=params.purpose, legal_basis=params.legal_basis, actor=key.actor,
                         top_k=params.top_k)
        d = res.to_dict()
        hits = [HitOut(**h, thumbnail_url=f"/v1/footage/tracks/{h['track_id']}/thumbnail") for h in d.pop("hits")]
        return SearchOut(**d, hits=hits)

    return await run_in_threadpool(work)


@router.get("/tracks/{track_id}/thumbnail", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}, "description": "the track's best-shot face (JPEG)"}})
def thumbnail(track_id: RowIdPath, key: ApiKey = Depends(require(Permission.FOOTAGE_SEARCH)),
              state: ServiceState = Depends(get_state)) -> Response:
    """A face from footage (an export of biometric data: audited)."""
    return Response(state.footage.thumbnail(track_id, actor=key.actor), media_type="image/jpeg",
                    headers={"Cache-Control": "no-store"})
