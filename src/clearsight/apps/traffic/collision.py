"""Forward-collision warning from a camera looking ahead (a dash camera): time to collision from box growth.

Why box growth and not distance: a single camera does not know how far the car
ahead is without a calibration that a moving, pitching vehicle keeps breaking;
but the *rate* at which its image grows gives the time to collision directly.
For an object of size S at distance Z closing at speed v, its image size is
s = f*S/Z, so 1/s = Z/(f*S) falls on a straight line in time while v is constant,
and reaches zero at the moment of collision. A least-squares line through 1/s
over the last `window_s` seconds therefore gives

    TTC(now) = (1/s)(now) / -(d(1/s)/dt)

evaluated at the window's end: no half-window lag for a steady approach (a fit of
s' / s would report the TTC of the window's middle, `window_s/2` too late), and
the usual noise of one box is averaged over the window. A lead car at constant
distance has a flat 1/s: its fitted TTC is huge or negative, never under a
threshold of seconds; `confirm` consecutive detections guard against a single
bad box.

Size is the geometric mean of box width and height: both grow at the same rate,
and the mean halves the relative jitter of either one. The default window (0.6 s)
is measured (bench/traffic.py, composed approaches): 1.0 and 1.5 s windows warned
0.2-0.3 s later, because a detector's box carries a margin of a few pixels that
makes growth look slower, the more so the further back the fit looks.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from ...rules.events import make_event
from ...stream.analysers import AnalyserOutput, FrameView, PluginContext, PolygonOverlay
from ...stream.zones import anchor_point
from ...types import Event
from .config import ForwardCollisionConfig
from .motion import track_label

EMITS = {
    "vehicle.forward_collision": "An object ahead in the ego lane will be hit within `ttc_warning_s` at the "
                                 "current closing speed (time to collision from box growth).",
}


def time_to_collision(times: Sequence[float], sizes: Sequence[float]) -> float | None:
    """TTC (s) at the last sample from a straight-line fit of 1/size; None when not approaching (or too few points)."""
    if len(times) < 3:
        return None
    t = np.asarray(times, dtype=np.float64)
    inv = 1.0 / np.maximum(np.asarray(sizes, dtype=np.float64), 1e-6)
    tc = t - t[-1]
    A = np.c_[np.ones_like(tc), tc]
    (a, b), *_ = np.linalg.lstsq(A, inv, rcond=None)
    if b >= 0 or a <= 0:
        return None
    return float(a / -b)


@dataclass
class _Track:
    times: collections.deque[float] = field(default_factory=collections.deque)
    sizes: collections.deque[float] = field(default_factory=collections.deque)
    below: int = 0  # consecutive detections with TTC under the threshold
    warned: bool = False
    ttc: float | None = None


class ForwardCollisionAnalyser:
    name = "forward_collision"

    def __init__(self, config: ForwardCollisionConfig, ctx: PluginContext) -> None:
        self.config = config
        self.camera = ctx.camera
        self.snapshots = config.snapshots and ctx.snapshots
        self._classes = set(config.classes)
        self._tracks: dict[int, _Track] = {}
        self._corridor: np.ndarray | None = None

    def analyse(self, view: FrameView) -> AnalyserOutput:
        c = self.config
        frame = view.frame
        if self._corridor is None:
            self._corridor = (np.asarray(c.corridor, dtype=np.float32) * (frame.width, frame.height)).astype(np.float32)
        t = view.time
        events: list[Event] = []
        labels: dict[int, str] = {}
        for tr in view.tracks:
            cls = track_label(tr)
            if cls not in self._classes:
                continue
            st = self._tracks.setdefault(tr.track_id, _Track())
            size = float(np.sqrt(tr.box.width * tr.box.height))
            st.times.append(t)
            st.sizes.append(size)
            while st.times and t - st.times[0] > c.window_s + 1e-9:
                st.times.popleft()
                st.sizes.popleft()
            ahead = cv2.pointPolygonTest(self._corridor.reshape(-1, 1, 2), anchor_point(tr.box, "bottom"), False) >= 0
            enough = len(st.times) >= c.min_samples and st.times[-1] - st.times[0] >= 0.5 * c.window_s
            st.ttc = time_to_collision(st.times, st.sizes) if enough and size >= c.min_size_px else None
            if st.ttc is not None and ahead:
                labels[tr.track_id] = f"TTC {st.ttc:.1f} s"
            if st.warned and (st.ttc is None or st.ttc > c.ttc_warning_s * c.rearm_factor):
                st.warned = False
            if ahead and st.ttc is not None and st.ttc <= c.ttc_warning_s:
                st.below += 1
            else:
                st.below = 0
            if st.below >= c.confirm and not st.warned:
                st.warned = True
                snap = _crop(frame.image, tr.box) if self.snapshots else None
                events.append(make_event("vehicle.forward_collision", self.camera, t, (tr.track_id,), snap,
                                         **{"class": cls}, ttc_s=round(st.ttc, 2), threshold_s=c.ttc_warning_s,
                                         box=tr.box.to_dict(), size_px=round(size, 1)))
        corridor = PolygonOverlay(tuple((float(x), float(y)) for x, y in self._corridor), "ego lane", (255, 160, 0))
        return AnalyserOutput(tuple(events), labels, (corridor,))

    def ttc(self, track_id: int) -> float | None:
        st = self._tracks.get(track_id)
        return None if st is None else st.ttc

    def end_track(self, track_id: int, t: float) -> Sequence[Event]:
        self._tracks.pop(track_id, None)
        return []

    def close(self) -> None:
        self._tracks.clear()


def _crop(rgb: np.ndarray, box: object) -> np.ndarray:
    b = box.scaled(1.2).clip(rgb.shape[1], rgb.shape[0])  # type: ignore[attr-defined]
    return np.ascontiguousarray(rgb[int(b.y1): int(b.y2), int(b.x1): int(b.x2)])


__all__ = ["EMITS", "ForwardCollisionAnalyser", "time_to_collision"]
