"""A live monitoring session: one driver's `DriverMonitor` fed frame by frame from a
remote client (a browser, a cabin box), with what the client asks for between
frames: the latest state, recent alerts and their counts. Not thread-safe: the
caller serialises one session's frames (alert timing is the frames' timestamps).
"""

from __future__ import annotations

import base64
from collections import deque
from typing import Any

import numpy as np

from ...errors import InputError
from ...settings import DmsSettings
from ...types import Event
from .monitor import DriverMonitor
from .video import event_dict

RECENT_EVENTS = 50
OVERLAY_EVENTS_S = 5.0  # how long an alert stays drawn on annotated frames


class DmsSessionNotFound(InputError):
    code = "dms_session_not_found"
    http_status = 404


class DmsSessionLimit(InputError):
    code = "dms_session_limit"
    http_status = 409


class LiveSession:
    def __init__(self, settings: DmsSettings, overrides: dict[str, float], camera: str = "console") -> None:
        self.monitor = DriverMonitor(settings=settings, camera=camera)
        self.overrides = overrides
        self.frames = 0
        self.last: dict[str, Any] | None = None
        self.events: deque[dict[str, Any]] = deque(maxlen=RECENT_EVENTS)
        self.event_counts: dict[str, int] = {}
        self._recent: list[Event] = []  # drawn on annotated frames

    def feed(self, rgb: np.ndarray, t: float, *, annotate: bool = False, quality: int = 80) -> dict[str, Any]:
        """The frame's signals, state, agitation and alerts; with `annotate`, the frame
        with the overlay as a JPEG data URL."""
        r = self.monitor.feed(rgb, t)
        self.frames += 1
        out = r.to_dict()
        self.last = {k: out[k] for k in ("signals", "state", "agitation")}
        for e in r.events:
            self.events.append(event_dict(e))
            self.event_counts[e.type] = self.event_counts.get(e.type, 0) + 1
        self._recent = [e for e in [*self._recent, *r.events] if t - e.time < OVERLAY_EVENTS_S]
        out["frame"] = self.frames
        if annotate:
            from ...io import encode_jpeg
            from .overlay import draw_overlay

            jpeg = encode_jpeg(draw_overlay(rgb, r, self._recent), quality=quality)
            out["annotated"] = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "thresholds": self.overrides,
            "calibration": self.monitor.calibration.to_dict(),
            "last": self.last,
            "events": list(self.events),
            "event_counts": dict(self.event_counts),
        }

    def close(self) -> None:
        self.monitor.close()
