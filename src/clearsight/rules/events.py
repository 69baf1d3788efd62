"""Typed events: the one currency between analysers, rules and sinks.

An event is `clearsight.types.Event` (type, camera, time, track ids, data,
optional JPEG snapshot, and for video its `offset_s` and `frame` in the source). This module names the types the video engine emits and
turns events into JSON-ready dicts, so a webhook, an MQTT message, a JSONL line,
an SSE message and a database row all carry the same fields.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime, timezone
from typing import Any

import numpy as np

from ..types import Event

FACE_SEEN = "face.seen"
TRACK_START = "track.start"
TRACK_END = "track.end"
IDENTITY = "face.identified"
WATCHLIST_MATCH = "watchlist.match"
ZONE_ENTER = "zone.enter"
ZONE_EXIT = "zone.exit"
ZONE_DWELL = "zone.dwell"
LINE_CROSS = "line.cross"
CAMERA_DOWN = "camera.down"
CAMERA_UP = "camera.up"
ALERT = "alert"

EVENT_TYPES = (
    FACE_SEEN, TRACK_START, TRACK_END, IDENTITY, WATCHLIST_MATCH, ZONE_ENTER, ZONE_EXIT, ZONE_DWELL,
    LINE_CROSS, CAMERA_DOWN, CAMERA_UP, ALERT,
)

# what the engine itself emits (analysers declare theirs when they register); docs/events.md mirrors this
ENGINE_EVENTS: dict[str, str] = {
    FACE_SEEN: "A new face track (face detectors; once per track).",
    TRACK_START: "A new track of a person, vehicle or other object (non-face detectors; once per track).",
    TRACK_END: "A track was last seen `track.lost_s` seconds ago (or the stream ended).",
    ZONE_ENTER: "A track's anchor point entered a zone.",
    ZONE_EXIT: "A track left a zone (with the stay's `duration_s`).",
    ZONE_DWELL: "A track stayed in a zone longer than the zone's `dwell_s` (once per stay).",
    LINE_CROSS: "A track crossed a line (with its `direction`).",
    CAMERA_DOWN: "The source stopped delivering frames (the engine reconnects), or on Ray the camera's node was lost "
                 "(it moves to a live node).",
    CAMERA_UP: "The source delivers frames again, or on Ray a moved camera runs on its new node.",
    ALERT: "A rule fired (rules may match alerts of other rules).",
}


def make_event(
    type: str,
    camera: str,
    time: float,
    track_ids: tuple[int, ...] | list[int] = (),
    snapshot: np.ndarray | bytes | None = None,
    **data: Any,
) -> Event:
    """An event; `snapshot` may be an RGB array (encoded to JPEG here) or JPEG bytes."""
    jpeg: bytes | None
    if snapshot is None or isinstance(snapshot, bytes):
        jpeg = snapshot
    else:
        from ..io import encode_jpeg

        jpeg = encode_jpeg(snapshot, quality=85) if snapshot.size else None
    return Event(type=type, camera=camera, time=float(time), track_ids=tuple(int(t) for t in track_ids),
                 data=_jsonable(data), snapshot_jpeg=jpeg)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "to_dict"):
        return v.to_dict()
    return v


def iso_time(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_to_dict(event: Event, *, snapshot: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {
        "type": event.type,
        "camera": event.camera,
        "time": round(event.time, 3),
        "time_iso": iso_time(event.time),
        "track_ids": list(event.track_ids),
        "offset_s": None if event.offset_s is None else round(event.offset_s, 3),
        "frame": event.frame,
        "data": event.data,
        "has_snapshot": event.snapshot_jpeg is not None,
    }
    if snapshot and event.snapshot_jpeg is not None:
        d["snapshot_jpeg_b64"] = base64.b64encode(event.snapshot_jpeg).decode("ascii")
    return d


def event_from_dict(d: dict[str, Any]) -> Event:
    snap = d.get("snapshot_jpeg_b64")
    return Event(
        type=str(d["type"]), camera=str(d.get("camera", "")), time=float(d["time"]),
        track_ids=tuple(int(t) for t in d.get("track_ids", ())), data=dict(d.get("data") or {}),
        snapshot_jpeg=base64.b64decode(snap) if snap else None,
        offset_s=None if d.get("offset_s") is None else float(d["offset_s"]),
        frame=None if d.get("frame") is None else int(d["frame"]),
    )


def event_json(event: Event, *, snapshot: bool = False) -> str:
    return json.dumps(event_to_dict(event, snapshot=snapshot), separators=(",", ":"))
