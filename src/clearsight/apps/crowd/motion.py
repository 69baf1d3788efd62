"""How tracked people move: velocity, "standing still since", and flow from dense optical flow.

Speeds are in person heights per second (see `settings`). A box's height jitters
by a few percent between frames and its position by a few pixels, so stillness
allows a small jitter (`JITTER_H`) on top of the speed allowance.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

JITTER_H = 0.15  # detector box noise, in person heights
HISTORY_S = 60.0
STILL_WINDOW_S = 1.0  # speed is measured over this window
OUTLIERS = 0.2  # share of samples that may break the stillness rule (tracker id swaps, occlusion)


@dataclass(frozen=True, slots=True)
class Sample:
    t: float
    x: float
    y: float
    h: float  # box height in pixels


class TrackMotion:
    """Recent positions of one track (the box's foot point)."""

    def __init__(self) -> None:
        self.samples: deque[Sample] = deque()

    def add(self, s: Sample) -> None:
        self.samples.append(s)
        while self.samples and s.t - self.samples[0].t > HISTORY_S:
            self.samples.popleft()

    @property
    def last(self) -> Sample:
        return self.samples[-1]

    def height(self) -> float:
        hs = [s.h for s in list(self.samples)[-10:]]
        return float(np.median(hs)) if hs else 1.0

    def velocity(self, window_s: float = 1.0) -> tuple[float, float] | None:
        """Pixels per second over the last `window_s` (None until the track spans half of it)."""
        if len(self.samples) < 2:
            return None
        now = self.samples[-1]
        old = next((s for s in self.samples if now.t - s.t <= window_s), self.samples[0])
        if old is now:
            old = self.samples[-2]
        dt = now.t - old.t
        if dt < window_s / 2:
            return None
        return (now.x - old.x) / dt, (now.y - old.y) / dt

    def speed_h(self, window_s: float = 1.0) -> float | None:
        v = self.velocity(window_s)
        return None if v is None else math.hypot(*v) / max(self.height(), 1.0)

    def still_since(self, max_speed_h: float) -> float | None:
        """The earliest time from which the track moved slower than `max_speed` (heights per second,
        measured over `STILL_WINDOW_S`, plus `JITTER_H` of box noise) all the way to now (None: moving now).

        The speed is local (each sample against the one a window later), so the slow
        last steps of someone arriving do not date the stop back, as a cumulative
        "still within x of here" rule would. Robust to short tracker mistakes: a
        passer-by who borrows the id for a few frames or a box cut by an occluder are
        outliers; up to `OUTLIERS` of the samples may break the rule (never the
        earliest one), and "now" is the median of the last three positions.
        """
        if len(self.samples) < 3:
            return None
        pts = list(self.samples)
        times = [p.t for p in pts]
        recent = pts[-3:]
        now = Sample(pts[-1].t, float(np.median([p.x for p in recent])), float(np.median([p.y for p in recent])), 0.0)
        h = self.height()
        since = None
        bad = 0
        for n, i in enumerate(range(len(pts) - 1, -1, -1), start=1):
            s = pts[i]
            k = bisect.bisect_right(times, s.t + STILL_WINDOW_S) - 1
            other = now if k >= len(pts) - 2 else pts[k]
            dt = max(other.t - s.t, 1e-3)
            ok = math.hypot(other.x - s.x, other.y - s.y) <= h * (JITTER_H + max_speed_h * max(dt, STILL_WINDOW_S))
            bad += not ok
            if ok and bad <= OUTLIERS * n:
                since = s.t
            elif bad > OUTLIERS * n + 3:
                break  # it was moving before: no earlier start can satisfy the rule
        if since is None or since >= now.t:
            return None
        return since


@dataclass(frozen=True, slots=True)
class ZoneFlow:
    """Where a zone's people go: dominant direction (degrees, image axes: 0 = right, 90 = down),
    typical speed, and the share moving against the dominant direction."""

    direction_deg: float | None
    speed: float  # heights per second (tracks) or pixels per second (optical flow)
    unit: str  # "heights/s" or "px/s"
    moving: int  # moving tracks, or moving pixels of the flow field
    counter: int  # of those, going more than 135 degrees against the dominant direction
    source: str  # "tracks" or "optical_flow"

    @property
    def counter_fraction(self) -> float:
        return self.counter / self.moving if self.moving else 0.0

    def to_dict(self) -> dict[str, object]:
        return {"direction_deg": None if self.direction_deg is None else round(self.direction_deg, 1),
                "speed": round(self.speed, 3), "unit": self.unit, "moving": self.moving, "counter": self.counter,
                "counter_fraction": round(self.counter_fraction, 3), "source": self.source}


def dominant(vectors: np.ndarray, weights: np.ndarray | None = None) -> tuple[float | None, np.ndarray]:
    """Dominant direction of 2-D motion vectors: the direction of the weighted sum of their unit
    vectors (a mean of angles wraps at 360). Returns (degrees, cosine of each vector with it)."""
    if len(vectors) == 0:
        return None, np.zeros(0)
    norms = np.linalg.norm(vectors, axis=1)
    units = vectors / np.maximum(norms, 1e-9)[:, None]
    w = np.ones(len(vectors)) if weights is None else weights
    s = (units * w[:, None]).sum(0)
    if np.linalg.norm(s) < 1e-9:
        return None, np.zeros(len(vectors))
    d = s / np.linalg.norm(s)
    return float(math.degrees(math.atan2(d[1], d[0])) % 360.0), units @ d


COUNTER_COS = math.cos(math.radians(135))


def flow_from_tracks(velocities: list[tuple[float, float, float]], min_speed_h: float) -> ZoneFlow:
    """`velocities`: (vx, vy, height) per tracked person in the zone."""
    v = np.array([[vx / max(h, 1), vy / max(h, 1)] for vx, vy, h in velocities]).reshape(-1, 2)
    speed = np.linalg.norm(v, axis=1) if len(v) else np.zeros(0)
    moving = v[speed >= min_speed_h]
    direction, cos = dominant(moving)
    counter = int((cos < COUNTER_COS).sum()) if direction is not None else 0
    typical = float(np.median(speed[speed >= min_speed_h])) if len(moving) else 0.0
    return ZoneFlow(direction, typical, "heights/s", len(moving), counter, "tracks")


class DenseFlow:
    """Farneback optical flow between consecutive analysed frames, at a reduced size."""

    def __init__(self, max_side: int = 320) -> None:
        self.max_side = int(max_side)
        self._prev: np.ndarray | None = None
        self._prev_t = 0.0
        self.scale = 1.0
        self.field: np.ndarray | None = None  # (h, w, 2) pixels per second in ORIGINAL image pixels
        self.dt = 0.0

    def update(self, rgb: np.ndarray, t: float) -> np.ndarray | None:
        h, w = rgb.shape[:2]
        self.scale = min(1.0, self.max_side / max(h, w))
        small = cv2.resize(rgb, (max(8, round(w * self.scale)), max(8, round(h * self.scale))), interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        prev, prev_t = self._prev, self._prev_t
        self._prev, self._prev_t = gray, t
        if prev is None or prev.shape != gray.shape or t <= prev_t:
            self.field = None
            return None
        flow = cv2.calcOpticalFlowFarneback(prev, gray, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        self.dt = t - prev_t
        self.field = flow / (self.dt * self.scale)
        return self.field

    def zone_flow(self, mask_small: np.ndarray, min_speed_px: float) -> ZoneFlow:
        """Flow inside a zone mask given at the flow field's size."""
        if self.field is None:
            return ZoneFlow(None, 0.0, "px/s", 0, 0, "optical_flow")
        vec = self.field[mask_small]
        speed = np.linalg.norm(vec, axis=1)
        moving = vec[speed >= min_speed_px]
        direction, cos = dominant(moving)
        counter = int((cos < COUNTER_COS).sum()) if direction is not None else 0
        typical = float(np.median(speed[speed >= min_speed_px])) if len(moving) else 0.0
        return ZoneFlow(direction, typical, "px/s", len(moving), counter, "optical_flow")
