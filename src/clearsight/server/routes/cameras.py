"""Cameras, their live view, the event timeline and the alert rules, over HTTP.

One `CameraManager` per app (the "hub", on `app.state`), created at start-up by
this router's lifespan (FastAPI merges it into the app's), which also restores the
cameras saved in `<data_dir>/cameras/*.json` (those that were running start
again) and stops every camera on shutdown.

Every camera feeds the process-wide SSE broadcaster; one consumer thread per app
stores what its cameras emit in the `EventStore` and runs the service-wide rules
(`GET/PUT /v1/rules`) over it, publishing the alerts back to the broadcaster (so
they reach the live timeline and, on their way round, the store).

Browsers cannot put an `Authorization` header on `<img src>` or `EventSource`, so
the two streaming endpoints also accept a short-lived `ticket` query parameter
(`POST /v1/stream-tickets`): an HMAC over the key id and an expiry, signed with a
per-process secret, so the API key itself never appears in a URL or a log line.
The two streams are left out of the OpenAPI document (they never end, which
schema fuzzers cannot handle); they are described here and in `GET /v1/cameras`.

- `GET /v1/cameras/{name}/live.mjpeg?ticket=...`: `multipart/x-mixed-replace` JPEGs
  of the camera's annotated output (boxes, track ids, zones, lines).
- `GET /v1/events/stream?ticket=...&camera=...&type=...`: `text/event-stream`, one
  message per event (`event: <type>`, JSON data with the snapshot inline, base64).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import APIRouter, Body, Depends, FastAPI, Path as PathParam, Query, Request
from fastapi.responses import Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ...errors import InputError
from ...rules.engine import Rule, RuleEngine, RuleSet
from ...rules.events import iso_time
from ...stream.config import CameraConfig
from ..auth import ApiKey, Permission, forbidden, unauthorized
from ..deps import _bearer, _header, current_key, get_state, require
from ..errors import PROBLEM_RESPONSES

log = logging.getLogger("clearsight.server.cameras")

MAX_CAMERAS = 16
TICKET_TTL_S = 600
SSE_HEARTBEAT_S = 10.0
MJPEG_FPS = 10.0


class CameraSourceError(InputError):
    code = "invalid_camera_source"


class CameraLimitError(InputError):
    code = "too_many_cameras"
    http_status = 409


class CameraNotRunningError(InputError):
    code = "camera_not_running"
    http_status = 409


class SnapshotNotFoundError(InputError):
    code = "snapshot_not_found"
    http_status = 404


# --------------------------------------------------------------------------- the hub
class _LazyGallery:
    """The service's own gallery (its data dir, its shared face pipeline), opened only
    when a camera that recognises people first asks for it."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state.gallery, name)


class CameraHub:
    """The app's cameras, saved configs, event store and service-wide rules."""

    def __init__(self, state: Any) -> None:
        from ...rules.sinks import EventStore, default_broadcaster
        from ...stream.manager import CameraManager

        self.state = state
        data_dir = Path(state.settings.data_dir)
        self.dir = data_dir / "cameras"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.output_dir = self.dir / "output"
        kwargs: dict[str, Any] = {}
        if state.gallery_available:
            kwargs["gallery"] = _LazyGallery(state)
        self.manager = CameraManager(**kwargs)
        self.store = EventStore(state.settings.events_database_url(), keep_snapshots=state.settings.events.keep_snapshots)
        self.engine = RuleEngine(self._load_rules())
        self.broadcaster = default_broadcaster()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._sub = self.broadcaster.subscribe()
        self._consumer = threading.Thread(target=self._consume, name="camera-events", daemon=True)
        self._consumer.start()
        self.secret = secrets.token_bytes(32)

    # -- persistence ------------------------------------------------------------
    def _file(self, name: str) -> Path:
        return self.dir / f"{name}.json"

    def _write(self, path: Path, data: Any) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        os.replace(tmp, path)

    def save(self, cfg: CameraConfig, running: bool) -> None:
        self._write(self._file(cfg.name), {"config": cfg.model_dump(mode="json"), "running": running})

    def restore(self) -> None:
        """Cameras saved by an earlier run come back; those that were running start."""
        for f in sorted(self.dir.glob("*.json")):
            if f.name == "rules.json":
                continue
            try:
                saved = json.loads(f.read_text())
                cfg = CameraConfig.model_validate(saved["config"])
                self.manager.add(cfg, start=False)
                if saved.get("running"):
                    self.manager.start(cfg.name)
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the others
                log.error("camera file %s not restored: %s", f, exc)

    def _load_rules(self) -> list[Rule]:
        f = self.dir / "rules.json"
        if not f.exists():
            return []
        try:
            return RuleSet.model_validate(json.loads(f.read_text())).rules
        except Exception as exc:  # noqa: BLE001
            log.error("rules file %s ignored: %s", f, exc)
            return []

    def set_rules(self, rules: RuleSet) -> None:
        self.engine.set_rules(rules.rules)
        self._write(self.dir / "rules.json", rules.model_dump(mode="json"))

    # -- configs ------------------------------------------------------------------
    def check(self, cfg: CameraConfig) -> CameraConfig:
        """Refuse what the service cannot or must not do, before a thread starts.

        Local sources must exist (resolved to absolute paths); files a camera writes
        (annotated video, JSONL) stay under `<data_dir>/cameras/output`; the service
        stores every event itself, so a camera-level `store` sink would duplicate."""
        from ...stream.detectors import available_stage_detectors

        known = available_stage_detectors()
        if cfg.detect.detector not in known:
            raise CameraSourceError(f"detect.detector: unknown detector {cfg.detect.detector!r}; choose from {', '.join(known)}")
        src = cfg.source
        if isinstance(src, str) and "://" not in src and not src.startswith(("webcam:", "/dev/")) and not src.isdigit():
            p = Path(src).expanduser().resolve()
            if not p.exists():
                raise CameraSourceError(f"source: no file or folder at {src!r} on the server")
            src = str(p)
        sinks = []
        for s in cfg.sinks:
            if s.type == "store":
                raise CameraSourceError("sinks: the service stores every event already; remove the `store` sink")
            if s.type == "jsonl":
                s = s.model_copy(update={"path": str(self._inside_output(s.path or f"{cfg.name}.jsonl", "sinks.path"))})
            sinks.append(s)
        out = cfg.output
        if out.path:
            out = out.model_copy(update={"path": str(self._inside_output(out.path, "output.path"))})
        return cfg.model_copy(update={"source": src, "sinks": sinks, "output": out})

    def _inside_output(self, path: str, field: str) -> Path:
        base = self.output_dir.resolve()
        p = (base / path).resolve()
        if base != p and base not in p.parents:
            raise CameraSourceError(f"{field}: files a camera writes must stay under {base}")
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def describe(self, name: str) -> dict[str, Any]:
        return {"config": self.manager.config(name).model_dump(mode="json"), "status": self.manager.status(name).to_dict()}

    # -- events -------------------------------------------------------------------
    def _consume(self) -> None:
        while not self._closed.is_set() or self._sub.q.qsize():
            event = self._sub.get(timeout=0.5)
            if event is None:
                continue
            if event.camera not in self.manager.names():  # another app's camera in this process
                continue
            try:
                self.store.emit(event)
            except Exception:  # noqa: BLE001 - a full disk must not kill the consumer
                log.exception("event not stored")
            for _rule, alert in self.engine.process(event):
                self.broadcaster.emit(alert)  # comes back through this loop and is stored

    def close(self) -> None:
        self.manager.close()
        self._closed.set()
        self._consumer.join(10)
        self._sub.close()
        self.store.close()


_hub_lock = threading.Lock()


def hub_for(app: Any) -> CameraHub:
    with _hub_lock:
        hub = getattr(app.state, "cameras", None)
        if hub is None:
            hub = CameraHub(app.state.clearsight)
            app.state.cameras = hub
        return hub


def get_hub(request: Request) -> CameraHub:
    return hub_for(request.app)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    hub = await run_in_threadpool(hub_for, app)
    await run_in_threadpool(hub.restore)
    try:
        yield
    finally:
        await run_in_threadpool(hub.close)
        app.state.cameras = None


router = APIRouter(prefix="/v1", tags=["cameras"], responses=PROBLEM_RESPONSES, lifespan=lifespan)

NamePath = PathParam(min_length=1, max_length=100, description="the camera's name")


# --------------------------------------------------------------------------- stream tickets
def _sign(secret: bytes, key_id: str, expires: int) -> str:
    return hmac.new(secret, f"{key_id}.{expires}".encode(), hashlib.sha256).hexdigest()


class TicketOut(BaseModel):
    ticket: str
    expires_at: float = Field(description="Unix time after which the ticket no longer opens a stream")


@router.post("/stream-tickets", response_model=TicketOut)
def create_ticket(key: ApiKey = Depends(current_key), hub: CameraHub = Depends(get_hub)) -> TicketOut:
    """A short-lived ticket for `<img src=live.mjpeg?ticket=...>` and `EventSource`,
    which cannot send the key in a header. It carries the caller's role, nothing more."""
    expires = int(time.time()) + TICKET_TTL_S
    return TicketOut(ticket=f"{key.id}.{expires}.{_sign(hub.secret, key.id, expires)}", expires_at=expires)


def stream_auth(permission: Permission):
    def _dep(
        request: Request,
        ticket: str | None = Query(None, max_length=200),
        bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
        header: str | None = Depends(_header),
    ) -> ApiKey:
        if ticket:
            state = get_state(request)
            key_id, _, rest = ticket.partition(".")
            exp, _, sig = rest.partition(".")
            hub = hub_for(request.app)
            if not exp.isdigit() or not hmac.compare_digest(sig, _sign(hub.secret, key_id, int(exp))):
                raise unauthorized("the stream ticket is not valid")
            if int(exp) < time.time():
                raise unauthorized("the stream ticket has expired; ask for a new one")
            key = state.keys.get(key_id)
            if key is None or key.revoked_at is not None:
                raise unauthorized("the API key is unknown or revoked")
            state.limiter.check(key.id, key.rate_limit or getattr(state.server.rate_limits, key.role.value))
        else:
            key = current_key(request, bearer, header)
        if not key.can(permission):
            raise forbidden(key, permission)
        return key

    return _dep


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
    return [hub.describe(n) for n in hub.manager.names()]


@router.post("/cameras", response_model=CameraOut, status_code=201)
def create_camera(
    config: CameraConfig,
    start: bool = Query(False, description="start processing right away"),
    _: ApiKey = Depends(require(Permission.CAMERAS_WRITE)),
    hub: CameraHub = Depends(get_hub),
) -> dict:
    """Add a camera (same schema as a camera YAML file). Saved in the data dir, so it
    survives a restart."""
    cfg = hub.check(config)
    with hub._lock:
        if len(hub.manager.names()) >= MAX_CAMERAS and cfg.name not in hub.manager.names():
            raise CameraLimitError(f"this service runs at most {MAX_CAMERAS} cameras")
        hub.manager.add(cfg, start=False)
        hub.save(cfg, start)
    if start:
        hub.manager.start(cfg.name)
    return hub.describe(cfg.name)


@router.get("/cameras/{name}", response_model=CameraOut)
def get_camera(name: str = NamePath, _: ApiKey = Depends(require(Permission.CAMERAS_READ)),
               hub: CameraHub = Depends(get_hub)) -> dict:
    return hub.describe(name)


@router.put("/cameras/{name}", response_model=CameraOut)
def update_camera(
    config: CameraConfig,
    name: str = NamePath,
    _: ApiKey = Depends(require(Permission.CAMERAS_WRITE)),
    hub: CameraHub = Depends(get_hub),
) -> dict:
    """Replace a camera's configuration; a running camera restarts with it."""
    if config.name != name:
        raise InputError(f"name: the body names {config.name!r} but the URL {name!r}; cameras cannot be renamed")
    hub.manager.config(name)  # 404 before anything else
    cfg = hub.check(config)
    status = hub.manager.update(cfg)
    hub.save(cfg, status.running)
    return hub.describe(name)


@router.delete("/cameras/{name}", status_code=204)
def delete_camera(name: str = NamePath, _: ApiKey = Depends(require(Permission.CAMERAS_WRITE)),
                  hub: CameraHub = Depends(get_hub)) -> Response:
    """Stop the camera and forget it (its past events stay in the timeline)."""
    hub.manager.config(name)  # 404 for an unknown camera
    hub.manager.remove(name)
    hub._file(name).unlink(missing_ok=True)
    return Response(status_code=204)


@router.post("/cameras/{name}/start", response_model=CameraOut)
def start_camera(name: str = NamePath, _: ApiKey = Depends(require(Permission.CAMERAS_WRITE)),
                 hub: CameraHub = Depends(get_hub)) -> dict:
    hub.manager.start(name)
    hub.save(hub.manager.config(name), True)
    return hub.describe(name)


@router.post("/cameras/{name}/stop", response_model=CameraOut)
def stop_camera(name: str = NamePath, _: ApiKey = Depends(require(Permission.CAMERAS_WRITE)),
                hub: CameraHub = Depends(get_hub)) -> dict:
    hub.manager.stop(name)
    hub.save(hub.manager.config(name), False)
    return hub.describe(name)


async def _mjpeg(pipeline: Any, request: Request) -> AsyncIterator[bytes]:
    """New annotated frames as multipart JPEG parts; ends when the client leaves or the
    camera stops (a file that ended, a stop), after its last frame was sent."""
    from ...io import encode_jpeg

    last = 0.0
    while not await request.is_disconnected():
        frame, t = pipeline.latest, pipeline.latest_time
        if frame is not None and t != last:
            last = t
            jpg = await asyncio.to_thread(encode_jpeg, frame, quality=75)
            yield b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n" % (len(jpg), jpg)
        elif not pipeline.running and frame is not None:
            return
        await asyncio.sleep(1.0 / MJPEG_FPS)


@router.get("/cameras/{name}/live.mjpeg", include_in_schema=False)
async def live(request: Request, name: str = NamePath, _: ApiKey = Depends(stream_auth(Permission.CAMERAS_READ)),
               hub: CameraHub = Depends(get_hub)) -> StreamingResponse:
    from ...stream.manager import MJPEG_MEDIA_TYPE

    hub.manager.config(name)
    pipeline = hub.manager.pipeline(name)
    if pipeline is None or (not pipeline.running and pipeline.latest is None and not hub.manager.status(name).running):
        raise CameraNotRunningError(f"camera {name!r} is not running; start it first")
    return StreamingResponse(_mjpeg(pipeline, request), media_type=MJPEG_MEDIA_TYPE,
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# --------------------------------------------------------------------------- events
class EventOut(BaseModel):
    id: int
    type: str
    camera: str
    time: float
    time_iso: str
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
    rows = hub.store.query(camera=camera, type=type, since=since, until=until, offset=offset, limit=limit)
    return EventPage(items=[EventOut(**r, time_iso=iso_time(r["time"])) for r in rows], offset=offset, limit=limit)


@router.get("/events/{event_id}/snapshot", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}, "description": "the JPEG the camera attached"}})
def event_snapshot(event_id: int = PathParam(ge=1, le=2**62), _: ApiKey = Depends(require(Permission.EVENTS_READ)),
                   hub: CameraHub = Depends(get_hub)) -> Response:
    jpg = hub.store.snapshot(event_id)
    if not jpg:
        raise SnapshotNotFoundError(f"event {event_id} has no snapshot (or does not exist)")
    return Response(jpg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/events/stream", include_in_schema=False)
async def event_stream(
    camera: str | None = Query(None, max_length=100),
    type: list[str] | None = Query(None, max_length=20),
    _: ApiKey = Depends(stream_auth(Permission.EVENTS_READ)),
    hub: CameraHub = Depends(get_hub),
) -> StreamingResponse:
    return StreamingResponse(
        hub.broadcaster.sse(type or None, camera, heartbeat_s=SSE_HEARTBEAT_S, snapshot=True),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# --------------------------------------------------------------------------- rules
@router.get("/rules", response_model=RuleSet)
def get_rules(_: ApiKey = Depends(require(Permission.CAMERAS_READ)), hub: CameraHub = Depends(get_hub)) -> RuleSet:
    """The service-wide alert rules, evaluated over every camera's events."""
    return RuleSet(rules=list(hub.engine.rules))


@router.put("/rules", response_model=RuleSet)
def put_rules(
    rules: RuleSet = Body(..., examples=[{"rules": [{"name": "crowd", "when": {"type": "face.seen", "count": {"at_least": 3, "within_s": 10}}, "cooldown_s": 60}]}]),
    _: ApiKey = Depends(require(Permission.CAMERAS_WRITE)),
    hub: CameraHub = Depends(get_hub),
) -> RuleSet:
    """Replace the rules (validated first: a bad rule is a 422 naming the field, and
    the old rules stay). Rule state (counts, cool-downs) starts afresh."""
    hub.set_rules(rules)
    return RuleSet(rules=list(hub.engine.rules))
