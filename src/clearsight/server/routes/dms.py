"""Driver monitoring over HTTP: live sessions fed frame by frame, and short video files.

A monitoring session keeps one `DriverMonitor` (calibration, PERCLOS window,
glance history) between frames, so a browser or a cabin box can post JPEGs with
their capture timestamps and get signals, state and alerts back; alert timing is
the frames' timestamps, never arrival times. Sessions are per API key, few, and
expire when idle, since each holds a face-mesh graph. A video file is analysed in
one call, bounded in length so one request cannot hold a worker for minutes.
Nothing is stored: frames are dropped after analysis.
"""

from __future__ import annotations

import base64
import math
import secrets
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path as PathParam, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from ...errors import InputError
from ..auth import ApiKey, Permission
from ..deps import require
from ..errors import PROBLEM_RESPONSES
from ..inputs import image_body_openapi, parse_image_request

router = APIRouter(prefix="/v1/dms", tags=["dms"], responses=PROBLEM_RESPONSES)

# Monitoring a driver analyses faces, like the other live pages: the same permission
# as effects (client, operator, admin; never the auditor).
PERMISSION = Permission.ANALYZE
MAX_SESSIONS_PER_KEY = 4
MAX_SESSIONS = 16
SESSION_IDLE_S = 120.0
RECENT_EVENTS = 50
# The template says {name} (the matrix test in tests/integration/server formats paths
# with a fixed set of names); it is the id POST /v1/dms/sessions returned.
SessionId = Annotated[str, PathParam(max_length=64, description="the session id returned by POST /v1/dms/sessions")]
MAX_VIDEO_S = 60.0
MAX_VIDEO_FRAMES = 1800
MAX_VIDEO_WIDTH = 1280  # larger frames are downscaled: the mesh runs at 192-256 px anyway


class DmsSessionNotFound(InputError):
    code = "dms_session_not_found"
    http_status = 404


class DmsSessionLimit(InputError):
    code = "dms_session_limit"
    http_status = 409


class DmsVideoError(InputError):
    code = "dms_video_error"


# ------------------------------------------------------------------ sessions
class _Session:
    def __init__(self, sid: str, owner: str, monitor: Any, overrides: dict[str, Any]) -> None:
        self.id = sid
        self.owner = owner
        self.monitor = monitor
        self.overrides = overrides
        self.lock = threading.Lock()
        self.created = time.time()
        self.used = time.monotonic()
        self.frames = 0
        self.last: dict[str, Any] | None = None
        self.events: deque[dict[str, Any]] = deque(maxlen=RECENT_EVENTS)
        self.event_counts: dict[str, int] = {}
        self.recent: list[Any] = []  # Event objects for the overlay

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "frames": self.frames,
            "idle_expiry_s": SESSION_IDLE_S,
            "thresholds": self.overrides,
            "calibration": self.monitor.calibration.to_dict(),
            "last": self.last,
            "events": list(self.events),
            "event_counts": dict(self.event_counts),
        }


class _Sessions:
    """Live monitors keyed by id, owned by one API key; idle ones are closed lazily."""

    def __init__(self) -> None:
        self._items: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def _expire(self) -> list[_Session]:
        now = time.monotonic()
        stale = [s for s in self._items.values() if now - s.used > SESSION_IDLE_S]
        for s in stale:
            del self._items[s.id]
        return stale

    def create(self, owner: str, overrides: dict[str, Any], settings: Any) -> _Session:
        from ...apps.dms.monitor import DriverMonitor

        with self._lock:
            stale = self._expire()
            mine = sum(1 for s in self._items.values() if s.owner == owner)
            full = mine >= MAX_SESSIONS_PER_KEY or len(self._items) >= MAX_SESSIONS
        for s in stale:
            s.monitor.close()
        if full:
            raise DmsSessionLimit(
                f"too many monitoring sessions (at most {MAX_SESSIONS_PER_KEY} per key, {MAX_SESSIONS} in all); "
                f"end one with DELETE /v1/dms/sessions/{{id}} or wait {SESSION_IDLE_S:.0f} s for idle ones to expire"
            )
        monitor = DriverMonitor(settings=settings, camera="console")
        session = _Session(secrets.token_urlsafe(12), owner, monitor, overrides)
        with self._lock:
            self._items[session.id] = session
        return session

    def get(self, owner: str, sid: str) -> _Session:
        with self._lock:
            stale = self._expire()
            s = self._items.get(sid)
            if s is not None and s.owner == owner:
                s.used = time.monotonic()
            else:
                s = None
        for old in stale:
            old.monitor.close()
        if s is None:  # another key's session is as unknown as a missing one
            raise DmsSessionNotFound(f"no monitoring session {sid!r} for this key (ended, or idle for {SESSION_IDLE_S:.0f} s)")
        return s

    def end(self, owner: str, sid: str) -> None:
        s = self.get(owner, sid)
        with self._lock:
            self._items.pop(sid, None)
        with s.lock:
            s.monitor.close()


_registry_lock = threading.Lock()


def sessions(request: Request) -> _Sessions:
    """The app's sessions (one registry per app, so the bounds hold per service)."""
    with _registry_lock:
        reg = getattr(request.app.state, "dms_sessions", None)
        if reg is None:
            reg = request.app.state.dms_sessions = _Sessions()
    return reg


def _settings_with(overrides: dict[str, Any]) -> Any:
    from ...apps.dms.monitor import _configured_settings
    from ...settings import DmsSettings

    unknown = sorted(set(overrides) - set(DmsSettings.model_fields))
    if unknown:
        raise InputError(f"unknown threshold(s): {', '.join(unknown)}; see GET /v1/dms/thresholds")
    bad = sorted(k for k, v in overrides.items() if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0)
    if bad:
        raise InputError(f"thresholds must be finite non-negative numbers: {', '.join(bad)}")
    base = _configured_settings().model_dump()
    try:
        return DmsSettings.model_validate({**base, **overrides})
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", "thresholds", *e.get("loc", ()))} for e in exc.errors(include_input=False, include_url=False)]
        ) from None


def _event_dict(e: Any) -> dict[str, Any]:
    return {"type": e.type, "time": round(e.time, 4), "data": e.data}


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
    from ...apps.dms.monitor import _configured_settings

    return _configured_settings().model_dump()


@router.post("/sessions", status_code=201, response_model=SessionOut)
async def create_session(
    request: Request, body: SessionIn | None = Body(None), key: ApiKey = Depends(require(PERMISSION))
) -> dict[str, Any]:
    """Start monitoring one driver. The first seconds with a face calibrate neutral gaze and open eyes."""
    overrides = dict(body.thresholds) if body else {}
    settings = _settings_with(overrides)
    session = await run_in_threadpool(sessions(request).create, key.id, overrides, settings)
    return session.to_dict()


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
async def post_frame(request: Request, name: SessionId, key: ApiKey = Depends(require(PERMISSION))) -> dict[str, Any]:
    """Analyse one frame of the session: signals, driver state, agitation and any alerts it raised.

    Timestamps must not go backwards; frames of one session are processed in order.
    """
    session = sessions(request).get(key.id, name)
    p, images = await parse_image_request(request, FrameParams, ("image",), ("image",))

    def work() -> dict[str, Any]:
        from ...io import encode_jpeg, load_image

        rgb = load_image(images["image"])
        with session.lock:
            r = session.monitor.feed(rgb, p.t)
            session.frames += 1
            out = r.to_dict()
            session.last = {k: out[k] for k in ("signals", "state", "agitation")}
            for e in r.events:
                session.events.append(_event_dict(e))
                session.event_counts[e.type] = session.event_counts.get(e.type, 0) + 1
            session.recent = [e for e in [*session.recent, *r.events] if p.t - e.time < 5.0]
            out["frame"] = session.frames
            if p.annotate:
                from ...apps.dms.overlay import draw_overlay

                jpeg = encode_jpeg(draw_overlay(rgb, r, session.recent), quality=p.quality)
                out["annotated"] = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
        return out

    return await run_in_threadpool(work)


@router.get("/sessions/{name}", response_model=SessionOut)
def get_session(request: Request, name: SessionId, key: ApiKey = Depends(require(PERMISSION))) -> dict[str, Any]:
    """The session's latest state and its recent alerts."""
    return sessions(request).get(key.id, name).to_dict()


@router.delete("/sessions/{name}", status_code=204, response_class=Response)
async def end_session(request: Request, name: SessionId, key: ApiKey = Depends(require(PERMISSION))) -> Response:
    """End monitoring and free the session's models."""
    await run_in_threadpool(sessions(request).end, key.id, name)
    return Response(status_code=204)


class AnalyzeParams(BaseModel):
    max_seconds: float = Field(30.0, gt=0, le=MAX_VIDEO_S, description=f"analyse at most this much video (<= {MAX_VIDEO_S:g} s)")
    thresholds: dict[str, float] | str | None = Field(None, description="DmsSettings overrides (a JSON string in multipart forms)")


class AnalyzeOut(BaseModel):
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
        import json

        try:
            value = json.loads(value)
        except ValueError:
            raise InputError("thresholds must be a JSON object") from None
        if not isinstance(value, dict):
            raise InputError("thresholds must be a JSON object")
    return dict(value)


@router.post(
    "/analyze",
    response_model=AnalyzeOut,
    openapi_extra=image_body_openapi(AnalyzeParams, ("video",), ("video",)),
)
async def analyze_video(request: Request, key: ApiKey = Depends(require(PERMISSION))) -> dict[str, Any]:
    """Run driver monitoring over an uploaded video (MP4, MKV, WebM, AVI...).

    Timestamps come from the container, so variable-frame-rate phone clips are
    timed correctly. At most `max_seconds` (<= 60 s) are analysed; the rest is ignored
    and `truncated` says so. The timeline has one row per analysed frame.
    """
    p, files = await parse_image_request(request, AnalyzeParams, ("video",), ("video",))
    overrides = _parse_thresholds(p.thresholds)
    settings = _settings_with(overrides)

    def work() -> dict[str, Any]:
        from ...apps.dms.runner import file_frames
        from ...apps.dms.monitor import DriverMonitor

        timeline: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        truncated = False
        fps = 0.0
        with tempfile.TemporaryDirectory(prefix="cs-dms-") as tmp:
            path = Path(tmp) / "upload.video"
            path.write_bytes(files["video"])
            try:
                with DriverMonitor(settings=settings, camera="upload") as mon:
                    for rgb, t, fps in file_frames(path):
                        if t > p.max_seconds or len(timeline) >= MAX_VIDEO_FRAMES:
                            truncated = True
                            break
                        if rgb.shape[1] > MAX_VIDEO_WIDTH:
                            import cv2

                            scale = MAX_VIDEO_WIDTH / rgb.shape[1]
                            rgb = cv2.resize(rgb, (MAX_VIDEO_WIDTH, max(1, round(rgb.shape[0] * scale))), interpolation=cv2.INTER_AREA)
                        r = mon.feed(rgb, t)
                        st = r.state
                        timeline.append(
                            {
                                "t": round(t, 4),
                                "face_present": st.face_present,
                                "eyes_closed": st.eyes_closed,
                                "perclos": None if st.perclos is None else round(st.perclos, 3),
                                "off_road": st.off_road,
                                "off_road_s": round(st.off_road_s, 3),
                                "agitation": round(r.agitation.index, 3),
                            }
                        )
                        events.extend(_event_dict(e) for e in r.events)
            except InputError:  # VideoSourceError, FrameError: already typed
                raise
            except Exception as exc:  # PyAV decode errors mid-stream
                if not timeline:
                    raise DmsVideoError(f"cannot decode the upload as a video: {type(exc).__name__}") from None
                truncated = True
        if not timeline:
            raise DmsVideoError("the video has no decodable frames")
        counts: dict[str, int] = {}
        for e in events:
            counts[e["type"]] = counts.get(e["type"], 0) + 1
        present = [row for row in timeline if row["face_present"]]
        return {
            "frames": len(timeline),
            "duration_s": round(timeline[-1]["t"], 4),
            "fps": round(float(fps), 3),
            "truncated": truncated,
            "summary": {
                "face_present_ratio": round(len(present) / len(timeline), 3),
                "eyes_closed_ratio": round(sum(1 for r in present if r["eyes_closed"]) / max(1, len(present)), 3),
                "off_road_ratio": round(sum(1 for r in present if r["off_road"]) / max(1, len(present)), 3),
                "max_agitation": max(r["agitation"] for r in timeline),
                "event_counts": counts,
            },
            "timeline": timeline,
            "events": events,
        }

    return await run_in_threadpool(work)

