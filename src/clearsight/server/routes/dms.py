"""Driver monitoring over HTTP: live sessions fed frame by frame, and short video files.

A monitoring session (`apps.dms.live.LiveSession`, in the service's session pool)
keeps one `DriverMonitor` (calibration, PERCLOS window, glance history) between frames, so a browser or a cabin box can post JPEGs with
their capture timestamps and get signals, state and alerts back; alert timing is
the frames' timestamps, never arrival times. Sessions are per API key, few, and
expire when idle, since each holds a face-mesh graph. A video file is analysed in
one call (`apps.dms.video.analyse_video`, as the CLI does), bounded in length so one
request cannot hold a worker for minutes.
Nothing is stored: frames are dropped after analysis.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path as PathParam, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from ...apps.dms.live import LiveSession
from ...errors import InputError
from ...settings import DmsSettings
from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..inputs import image_body_openapi, parse_image_request
from ..sessions import Session
from ..state import ServiceState

router = APIRouter(prefix="/v1/dms", tags=["dms"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)

# Monitoring a driver analyses faces, like the other live pages: the same permission
# as effects (client, operator, admin; never the auditor).
PERMISSION = Permission.ANALYZE
# The template says {name} (the matrix test in tests/integration/server formats paths
# with a fixed set of names); it is the id POST /v1/dms/sessions returned.
SessionId = Annotated[str, PathParam(max_length=64, description="the session id returned by POST /v1/dms/sessions")]
MAX_VIDEO_S = 60.0
MAX_VIDEO_FRAMES = 1800
MAX_VIDEO_WIDTH = 1280  # larger frames are downscaled: the mesh runs at 192-256 px anyway


def _configured() -> DmsSettings:
    from ...apps.dms.monitor import _configured_settings

    return _configured_settings()


def _settings_with(overrides: dict[str, Any]) -> DmsSettings:
    unknown = sorted(set(overrides) - set(DmsSettings.model_fields))
    if unknown:
        raise InputError(f"unknown threshold(s): {', '.join(unknown)}; see GET /v1/dms/thresholds")
    bad = sorted(k for k, v in overrides.items() if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0)
    if bad:
        raise InputError(f"thresholds must be finite non-negative numbers: {', '.join(bad)}")
    try:
        return DmsSettings.model_validate({**_configured().model_dump(), **overrides})
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", "thresholds", *e.get("loc", ()))} for e in exc.errors(include_input=False, include_url=False)]
        ) from None


def _session_out(state: ServiceState, s: Session[LiveSession]) -> dict[str, Any]:
    return {"id": s.id, "idle_expiry_s": state.dms_sessions.idle_s, **s.value.to_dict()}


# ------------------------------------------------------------------ routes
class SessionIn(BaseModel):
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description='overrides of DmsSettings, e.g. {"long_glance_s": 2.0, "perclos_drowsy": 0.12}',
    )


class SessionOut(BaseModel):
    id: str
    frames: int
    idle_expiry_s: float
    thresholds: dict[str, float]
    calibration: dict[str, Any]
    last: dict[str, Any] | None = None
    events: list[dict[str, Any]]
    event_counts: dict[str, int]


@router.get("/thresholds")
def thresholds(key: ApiKey = Depends(require(PERMISSION))) -> dict[str, float]:
    """The thresholds in force (Euro NCAP defaults unless configured); any can be overridden per session."""
    return _configured().model_dump()


@router.post("/sessions", status_code=201, response_model=SessionOut)
async def create_session(
    body: SessionIn | None = Body(None), key: ApiKey = Depends(require(PERMISSION)),
    state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """Start monitoring one driver. The first seconds with a face calibrate neutral gaze and open eyes."""
    overrides = dict(body.thresholds) if body else {}
    settings = _settings_with(overrides)
    session = await run_in_threadpool(state.dms_sessions.create, key.id, lambda: LiveSession(settings, overrides))
    return _session_out(state, session)


class FrameParams(BaseModel):
    t: float = Field(..., ge=0, le=1e7, description="the frame's capture time in seconds (alerts are timed by it)")
    annotate: bool = Field(False, description="also return the frame with the overlay as a JPEG data URL")
    quality: int = Field(80, ge=40, le=95, description="JPEG quality of the annotated frame")


class FrameOut(BaseModel):
    frame: int
    signals: dict[str, Any]
    state: dict[str, Any]
    agitation: dict[str, Any]
    events: list[dict[str, Any]]
    annotated: str | None = Field(None, description="data:image/jpeg;base64,... when `annotate` was set")


@router.post(
    "/sessions/{name}/frames",
    response_model=FrameOut,
    response_model_exclude_none=True,
    openapi_extra=image_body_openapi(FrameParams, ("image",), ("image",)),
)
async def post_frame(request: Request, name: SessionId, key: ApiKey = Depends(require(PERMISSION)),
                     state: ServiceState = Depends(get_state)) -> dict[str, Any]:
    """Analyse one frame of the session: signals, driver state, agitation and any alerts it raised.

    Timestamps must not go backwards; frames of one session are processed in order.
    """
    session = state.dms_sessions.get(key.id, name)
    p, images = await parse_image_request(request, FrameParams, ("image",), ("image",))

    def work() -> dict[str, Any]:
        from ...io import load_image

        rgb = load_image(images["image"])
        with session.lock:
            return session.value.feed(rgb, p.t, annotate=p.annotate, quality=p.quality)

    return await run_in_threadpool(work)


@router.get("/sessions/{name}", response_model=SessionOut)
def get_session(name: SessionId, key: ApiKey = Depends(require(PERMISSION)),
                state: ServiceState = Depends(get_state)) -> dict[str, Any]:
    """The session's latest state and its recent alerts."""
    return _session_out(state, state.dms_sessions.get(key.id, name))


@router.delete("/sessions/{name}", status_code=204, response_class=Response)
async def end_session(name: SessionId, key: ApiKey = Depends(require(PERMISSION)),
                      state: ServiceState = Depends(get_state)) -> Response:
    """End monitoring and free the session's models."""
    await run_in_threadpool(state.dms_sessions.end, key.id, name)
    return Response(status_code=204)


class AnalyseParams(BaseModel):
    max_seconds: float = Field(30.0, gt=0, le=MAX_VIDEO_S, description=f"analyse at most this much video (<= {MAX_VIDEO_S:g} s)")
    thresholds: dict[str, float] | str | None = Field(None, description="DmsSettings overrides (a JSON string in multipart forms)")


class AnalyseOut(BaseModel):
    frames: int
    duration_s: float
    fps: float
    truncated: bool
    summary: dict[str, Any]
    timeline: list[dict[str, Any]]
    events: list[dict[str, Any]]


def _parse_thresholds(value: dict[str, float] | str | None) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise InputError("thresholds must be a JSON object") from None
        if not isinstance(value, dict):
            raise InputError("thresholds must be a JSON object")
    return dict(value)


@router.post(
    "/analyse",
    response_model=AnalyseOut,
    openapi_extra=image_body_openapi(AnalyseParams, ("video",), ("video",)),
)
@router.post(  # the spelling of 0.1, kept for existing clients
    "/analyze",
    response_model=AnalyseOut,
    openapi_extra=image_body_openapi(AnalyseParams, ("video",), ("video",)),
    deprecated=True,
    operation_id="analyse_video_deprecated_spelling",
)
async def analyse_video(request: Request, key: ApiKey = Depends(require(PERMISSION))) -> dict[str, Any]:
    """Run driver monitoring over an uploaded video (MP4, MKV, WebM, AVI...).

    Timestamps come from the container, so variable-frame-rate phone clips are
    timed correctly. At most `max_seconds` (<= 60 s) are analysed; the rest is ignored
    and `truncated` says so. The timeline has one row per analysed frame.
    """
    from ...apps.dms.video import analyse_video as analyze

    p, files = await parse_image_request(request, AnalyseParams, ("video",), ("video",))
    settings = _settings_with(_parse_thresholds(p.thresholds))

    def work() -> dict[str, Any]:
        result = analyze(files["video"], settings, camera="upload", max_seconds=p.max_seconds,
                         max_frames=MAX_VIDEO_FRAMES, max_width=MAX_VIDEO_WIDTH)
        return result.to_dict()

    return await run_in_threadpool(work)
