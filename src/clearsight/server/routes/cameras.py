"""Cameras, their live view, the event timeline and the alert rules, over HTTP: thin
adapters over the service's `CameraHub` (`clearsight.stream.hub`), which the app
creates at start-up (restoring saved cameras) and closes on shutdown.

Browsers cannot put an `Authorization` header on `<img src>` or `EventSource`, so
the two streaming endpoints also accept a `ticket` query parameter from
`POST /v1/stream-tickets`: short-lived, single-use, naming the key, so the API key
itself never appears in a URL or a log line (tickets are redacted from the access
log too). A stream closes within seconds of its key being revoked. The two streams
are left out of the OpenAPI document (they never end, which schema fuzzers cannot
handle); they are described here and in `GET /v1/cameras`.

- `GET /v1/cameras/{name}/live.mjpeg?ticket=...`: `multipart/x-mixed-replace` JPEGs
  of the camera's annotated output (boxes, track ids, zones, lines).
- `GET /v1/events/stream?ticket=...&camera=...&type=...`: `text/event-stream`, one
  message per event (`event: <type>`, JSON data with the snapshot inline, base64).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Path as PathParam, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from ...apps.compose import check_rule_event_types, known_event_types
from ...errors import InputError
from ...rules.engine import RuleSet
from ...rules.events import iso_time
from ...stream.config import CameraConfig
from ...stream.hub import CameraHub
from ...stream.manager import MJPEG_MEDIA_TYPE, MjpegFeed
from ..auth import ApiKey, Permission, Role
from ..deps import AuthFirstRoute, StreamAccess, current_key, get_state, require, stream_access
from ..errors import PROBLEM_RESPONSES
from ..state import ServiceState
from ..schemas import RowIdPath

SSE_HEARTBEAT_S = 10.0
MJPEG_FPS = 10.0
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


class SnapshotNotFoundError(InputError):
    code = "snapshot_not_found"
    http_status = 404


def get_hub(state: ServiceState = Depends(get_state)) -> CameraHub:
    return state.cameras


router = APIRouter(prefix="/v1", tags=["cameras"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)

NamePath = PathParam(min_length=1, max_length=100, description="the camera's name")


# --------------------------------------------------------------------------- stream tickets
class TicketOut(BaseModel):
    ticket: str
    expires_at: float = Field(description="Unix time after which the ticket no longer opens a stream")


@router.post("/stream-tickets", response_model=TicketOut)
def create_ticket(key: ApiKey = Depends(current_key), state: ServiceState = Depends(get_state)) -> TicketOut:
    """A short-lived ticket that opens ONE stream (`<img src=live.mjpeg?ticket=...>` or an
    `EventSource`), which cannot send the key in a header. It carries the caller's role,
    nothing more; ask for a new one for each stream."""
    ticket, expires = state.tickets.issue(key)
    return TicketOut(ticket=ticket, expires_at=expires)


# --------------------------------------------------------------------------- cameras
class CameraOut(BaseModel):
    config: dict[str, Any]
    status: dict[str, Any]


class DetectorsOut(BaseModel):
    detectors: list[str]


@router.get("/camera-detectors", response_model=DetectorsOut)
def list_detectors(_: ApiKey = Depends(require(Permission.CAMERAS_READ))) -> DetectorsOut:
    """Detector names a camera's `detect.detector` accepts (faces, people, objects)."""
    from ...stream.detectors import available_stage_detectors

    return DetectorsOut(detectors=available_stage_detectors())


@router.get("/cameras", response_model=list[CameraOut])
def list_cameras(_: ApiKey = Depends(require(Permission.CAMERAS_READ)), hub: CameraHub = Depends(get_hub)) -> list[dict]:
    """Every camera with its configuration and status (running, frames, fps, tracks,
    event counts, last error). Live view: `GET /v1/cameras/{name}/live.mjpeg?ticket=`
    (a ticket from `POST /v1/stream-tickets`)."""
    return [hub.describe(n) for n in hub.names()]


@router.post("/cameras", response_model=CameraOut, status_code=201)
def create_camera(
    config: CameraConfig,
    start: bool = Query(False, description="start processing right away"),
    key: ApiKey = Depends(require(Permission.CAMERAS_WRITE)),
    hub: CameraHub = Depends(get_hub),
) -> dict:
    """Add a camera (same schema as a camera YAML file). Saved in the data dir, so it
    survives a restart. Sources and sink targets must be on the service's allow-list
    (`server.remote`); local files only under its media roots, for admins."""
    return hub.describe(hub.add(config, start=start, local_files=key.role is Role.ADMIN).name)


@router.get("/cameras/{name}", response_model=CameraOut)
def get_camera(name: str = NamePath, _: ApiKey = Depends(require(Permission.CAMERAS_READ)),
               hub: CameraHub = Depends(get_hub)) -> dict:
    return hub.describe(name)


@router.put("/cameras/{name}", response_model=CameraOut)
def update_camera(
    config: CameraConfig,
    name: str = NamePath,
    key: ApiKey = Depends(require(Permission.CAMERAS_WRITE)),
    hub: CameraHub = Depends(get_hub),
) -> dict:
    """Replace a camera's configuration; a running camera restarts with it."""
    hub.update(name, config, local_files=key.role is Role.ADMIN)
    return hub.describe(name)


@router.delete("/cameras/{name}", status_code=204)
def delete_camera(name: str = NamePath, _: ApiKey = Depends(require(Permission.CAMERAS_WRITE)),
                  hub: CameraHub = Depends(get_hub)) -> Response:
    """Stop the camera and forget it (its past events stay in the timeline)."""
    hub.remove(name)
    return Response(status_code=204)


@router.post("/cameras/{name}/start", response_model=CameraOut)
def start_camera(name: str = NamePath, _: ApiKey = Depends(require(Permission.CAMERAS_WRITE)),
                 hub: CameraHub = Depends(get_hub)) -> dict:
    hub.start(name)
    return hub.describe(name)


@router.post("/cameras/{name}/stop", response_model=CameraOut)
def stop_camera(name: str = NamePath, _: ApiKey = Depends(require(Permission.CAMERAS_WRITE)),
                hub: CameraHub = Depends(get_hub)) -> dict:
    hub.stop(name)
    return hub.describe(name)


@router.get("/cameras/{name}/live.mjpeg", include_in_schema=False)
async def live(name: str = NamePath, access: StreamAccess = Depends(stream_access(Permission.CAMERAS_READ)),
               hub: CameraHub = Depends(get_hub)) -> StreamingResponse:
    """New annotated frames as multipart JPEG parts; ends when the client leaves, the
    camera stops (after its last frame was sent) or the key is revoked."""
    feed = MjpegFeed(hub.live_pipeline(name), fps=MJPEG_FPS, quality=75)
    return StreamingResponse(access.guard(aiter(feed)), media_type=MJPEG_MEDIA_TYPE, headers=STREAM_HEADERS)


# --------------------------------------------------------------------------- events
class EventOut(BaseModel):
    id: int
    type: str
    camera: str
    time: float
    time_iso: str
    offset_s: float | None = Field(None, description="seconds from the start of the source (files: its clock; "
                                   "live cameras: since the stream was opened)")
    frame: int | None = Field(None, description="the source's frame index")
    track_ids: list[int]
    data: dict[str, Any]
    has_snapshot: bool


class EventPage(BaseModel):
    items: list[EventOut]
    offset: int
    limit: int


@router.get("/events", response_model=EventPage)
def list_events(
    camera: str | None = Query(None, max_length=100),
    type: str | None = Query(None, max_length=64, description="an event type; `*` is a wildcard (`zone.*`)"),
    since: float | None = Query(None, ge=0, le=1e11, description="Unix time (seconds), inclusive"),
    until: float | None = Query(None, ge=0, le=1e11, description="Unix time (seconds), exclusive"),
    offset: int = Query(0, ge=0, le=1_000_000),
    limit: int = Query(100, ge=1, le=1000),
    _: ApiKey = Depends(require(Permission.EVENTS_READ)),
    hub: CameraHub = Depends(get_hub),
) -> EventPage:
    """Stored events, newest first. An event's JPEG (when `has_snapshot`):
    `GET /v1/events/{id}/snapshot`. Live events: `GET /v1/events/stream?ticket=` (SSE)."""
    rows = hub.events.query(camera=camera, type=type, since=since, until=until, offset=offset, limit=limit)
    return EventPage(items=[EventOut(**r, time_iso=iso_time(r["time"])) for r in rows], offset=offset, limit=limit)


@router.get("/events/{event_id}/snapshot", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}, "description": "the JPEG the camera attached"}})
def event_snapshot(event_id: RowIdPath, _: ApiKey = Depends(require(Permission.EVENTS_READ)),
                   hub: CameraHub = Depends(get_hub)) -> Response:
    jpg = hub.events.snapshot(event_id)
    if not jpg:
        raise SnapshotNotFoundError(f"event {event_id} has no snapshot (or does not exist)")
    return Response(jpg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/events/stream", include_in_schema=False)
async def event_stream(
    camera: str | None = Query(None, max_length=100),
    type: list[str] | None = Query(None, max_length=20),
    access: StreamAccess = Depends(stream_access(Permission.EVENTS_READ)),
    state: ServiceState = Depends(get_state),
) -> StreamingResponse:
    events = state.broadcaster.sse(type or None, camera, heartbeat_s=SSE_HEARTBEAT_S, snapshot=True)
    return StreamingResponse(access.guard(events), media_type="text/event-stream", headers=STREAM_HEADERS)


# --------------------------------------------------------------------------- rules
@router.get("/rules", response_model=RuleSet)
def get_rules(_: ApiKey = Depends(require(Permission.CAMERAS_READ)), hub: CameraHub = Depends(get_hub)) -> RuleSet:
    """The service-wide alert rules, evaluated over every camera's events."""
    return hub.rules


class SavedRules(RuleSet):
    warnings: list[str] = Field(default_factory=list, description="Rules on event types that exist but that no "
                                "configured camera emits yet (they fire once a camera does).")


class EventTypeOut(BaseModel):
    type: str
    source: str = Field(description="`engine`, or the analyser that emits it")
    meaning: str
    cameras: list[str] = Field(description="Configured cameras that emit it now")


@router.get("/rules/event-types", response_model=list[EventTypeOut])
def get_event_types(_: ApiKey = Depends(require(Permission.CAMERAS_READ)),
                    hub: CameraHub = Depends(get_hub)) -> list[EventTypeOut]:
    """Every event type a rule may name: what the engine and the registered analysers emit."""
    from ...apps.compose import camera_event_types

    per_camera = {n: camera_event_types(hub.manager.config(n)) for n in hub.names()}
    return [EventTypeOut(**t.to_dict(), cameras=sorted(n for n, types in per_camera.items() if t.type in types))
            for t in known_event_types().values()]


@router.put("/rules", response_model=SavedRules)
def put_rules(
    rules: RuleSet = Body(..., examples=[{"rules": [{"name": "crowd", "when": {"type": "face.seen", "count": {"at_least": 3, "within_s": 10}}, "cooldown_s": 60}]}]),
    _: ApiKey = Depends(require(Permission.CAMERAS_WRITE)),
    hub: CameraHub = Depends(get_hub),
) -> SavedRules:
    """Replace the rules (validated first: a bad rule is a 422 naming the field, and
    the old rules stay). A rule on an event type nobody can emit is refused with the
    list of known types (`GET /v1/rules/event-types`); one on a type no configured
    camera emits is kept, with a warning. Rule state (counts, cool-downs) starts afresh."""
    warnings = check_rule_event_types(rules.rules, [hub.manager.config(n) for n in hub.names()])
    saved = hub.set_rules(rules)
    return SavedRules(rules=saved.rules, warnings=warnings)
