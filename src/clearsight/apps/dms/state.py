"""Temporal driver state: blinks, PERCLOS, closures, yawns, glances, absence.

All durations are measured on frame timestamps, never frame counts: a frame's
state holds from its timestamp to the next one (capped at `max_frame_gap_s`, so a
stalled camera does not invent minutes of closed eyes). An episode (closure,
glance, yawn, absence) starts at the timestamp of its first frame and its
duration at frame t is `t - start`; the same video at 15 or 30 fps therefore
yields the same durations up to one frame interval.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...settings import DmsSettings
from .signals import FrameSignals


@dataclass
class Calibration:
    """A driver's neutral gaze and open-eye lid gap (saved per driver if wanted)."""

    open_baseline: float
    gaze_yaw: float
    gaze_pitch: float
    done: bool = False
    # neutral head pose (degrees); off-road decisions use the gaze, which includes it
    head_yaw: float = 0.0
    head_pitch: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "open_baseline": round(self.open_baseline, 4),
            "gaze_yaw": round(self.gaze_yaw, 2),
            "gaze_pitch": round(self.gaze_pitch, 2),
            "head_yaw": round(self.head_yaw, 2),
            "head_pitch": round(self.head_pitch, 2),
            "done": self.done,
        }


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """What the alert rules and the overlay read after each frame."""

    time: float
    calibrated: bool
    face_present: bool
    eyes_closed: bool | None
    openness_ratio: float | None  # openness / driver's open baseline
    closure_s: float  # current closure episode, 0 if open
    closure_start: float | None
    perclos: float | None  # None until a full window has been observed
    perclos_coverage_s: float
    blinks_per_min: float | None
    mean_blink_s: float | None
    off_road: bool | None
    off_road_s: float  # current glance away
    off_road_start: float | None
    cumulative_off_road_s: float  # within the cumulative window
    yawning: bool
    yawn_s: float
    yawn_start: float | None
    yawns: int
    absent_s: float
    absent_start: float | None
    absent_reason: str | None  # "no_face" | "camera_blocked" | "too_dark"
    gaze_offset: tuple[float, float] | None  # gaze minus neutral, degrees

    def to_dict(self) -> dict[str, Any]:
        r = lambda v, n=3: None if v is None else round(float(v), n)  # noqa: E731
        return {
            "time": round(self.time, 4),
            "calibrated": self.calibrated,
            "face_present": self.face_present,
            "eyes_closed": self.eyes_closed,
            "openness_ratio": r(self.openness_ratio),
            "closure_s": r(self.closure_s),
            "perclos": r(self.perclos),
            "blinks_per_min": r(self.blinks_per_min, 1),
            "mean_blink_s": r(self.mean_blink_s),
            "off_road": self.off_road,
            "off_road_s": r(self.off_road_s),
            "cumulative_off_road_s": r(self.cumulative_off_road_s),
            "yawning": self.yawning,
            "yawns": self.yawns,
            "absent_s": r(self.absent_s),
            "absent_reason": self.absent_reason,
            "gaze_offset": None if self.gaze_offset is None else [r(v, 1) for v in self.gaze_offset],
        }


@dataclass
class _Episode:
    start: float | None = None

    def dur(self, t: float) -> float:
        return 0.0 if self.start is None else t - self.start


class DriverState:
    """Feed FrameSignals in time order; read `snapshot` (also returned by `update`)."""

    def __init__(self, settings: DmsSettings | None = None, calibration: Calibration | None = None) -> None:
        self.s = settings or DmsSettings()
        self.calibration = calibration or Calibration(self.s.default_open_baseline, 0.0, 0.0, done=False)
        self._calib_open: list[float] = []
        self._calib_gaze: list[tuple[float, ...]] = []
        self._calib_time = 0.0
        self._prev: FrameSignals | None = None
        self._prev_closed: bool | None = None
        self._prev_off: bool | None = None
        self._closed = False
        self._closure = _Episode()
        self._off = _Episode()
        self._yawn = _Episode()
        self._absent = _Episode()
        self._absent_reason: str | None = None
        self._perclos: deque[tuple[float, float, bool]] = deque()  # (start, dt, closed)
        self._first_t: float | None = None
        self._offroad_spans: deque[list[float]] = deque()  # [start, end] (end grows while away)
        self._blinks: deque[tuple[float, float]] = deque()  # (time, duration)
        self._yawns = 0
        self._yawning = False
        self.snapshot: StateSnapshot | None = None

    def recalibrate(self) -> None:
        """Start learning a new driver's neutral gaze and open eyes."""
        self.calibration = Calibration(self.s.default_open_baseline, 0.0, 0.0, done=False)
        self._calib_open.clear()
        self._calib_gaze.clear()
        self._calib_time = 0.0

    # ------------------------------------------------------------------ helpers
    def _calibrate(self, sig: FrameSignals, dt: float) -> None:
        c = self.calibration
        if c.done or sig.openness is None or sig.gaze is None:
            return
        self._calib_open.append(sig.openness)
        self._calib_gaze.append((*sig.gaze, *((sig.pose.yaw, sig.pose.pitch) if sig.pose else sig.gaze)))
        self._calib_time += dt
        g = np.asarray(self._calib_gaze)
        c.gaze_yaw, c.gaze_pitch = float(np.median(g[:, 0])), float(np.median(g[:, 1]))
        c.head_yaw, c.head_pitch = float(np.median(g[:, 2])), float(np.median(g[:, 3]))
        # 75th percentile: blinks (low) do not drag the open baseline down
        c.open_baseline = max(float(np.percentile(self._calib_open, 75)), 1e-3)
        if self._calib_time >= self.s.calibration_s:
            c.done = True

    def _cumulative(self, t: float) -> float:
        lo = t - self.s.cumulative_window_s
        while self._offroad_spans and self._offroad_spans[0][1] < lo:
            self._offroad_spans.popleft()
        return float(sum(max(0.0, min(b, t) - max(a, lo)) for a, b in self._offroad_spans))

    def _perclos_value(self, t: float) -> tuple[float | None, float]:
        lo = t - self.s.perclos_window_s
        while self._perclos and self._perclos[0][0] + self._perclos[0][1] <= lo:
            self._perclos.popleft()
        total = closed = 0.0
        for a, dt, c in self._perclos:
            part = min(a + dt, t) - max(a, lo)
            if part > 0:
                total += part
                closed += part if c else 0.0
        coverage = t - max(lo, self._first_t if self._first_t is not None else t)
        # a window mostly without a face (or without frames) says nothing about the eyes
        if coverage < self.s.perclos_window_s - 1e-6 or total < 0.5 * self.s.perclos_window_s:
            return None, coverage
        return closed / total, coverage

    # ------------------------------------------------------------------ update
    def update(self, sig: FrameSignals) -> StateSnapshot:
        s, t = self.s, sig.time
        if self._prev is not None and t < self._prev.time:
            raise ValueError(f"timestamps must not go backwards ({t} after {self._prev.time})")
        dt = 0.0 if self._prev is None else min(t - self._prev.time, s.max_frame_gap_s)
        # the previous frame's eye state holds until this frame
        if self._prev is not None and self._prev_closed is not None and dt > 0:
            self._perclos.append((self._prev.time, dt, self._prev_closed))
        if self._first_t is None:
            self._first_t = t

        cond = sig.conditions
        visible = sig.face_present and sig.openness is not None
        reason = None
        if not visible:
            reason = "camera_blocked" if cond.blocked else "too_dark" if cond.too_dark else "no_face"

        openness_ratio = eyes_closed = off = gaze_off = None
        if visible:
            self._absent.start, self._absent_reason = None, None
            self._calibrate(sig, dt)
            c = self.calibration
            assert sig.openness is not None and sig.gaze is not None
            openness_ratio = sig.openness / c.open_baseline
            limit = s.reopen_ratio if self._closed else s.closed_ratio
            self._closed = openness_ratio < limit
            eyes_closed = self._closed
            gaze_off = (sig.gaze[0] - c.gaze_yaw, sig.gaze[1] - c.gaze_pitch)
            off = abs(gaze_off[0]) > s.offroad_yaw_deg or gaze_off[1] < -s.offroad_down_deg or gaze_off[1] > s.offroad_up_deg
            mouth = sig.mouth_opening or 0.0
            self._yawning = mouth > (s.yawn_close if self._yawning else s.yawn_open)
        else:
            if self._absent.start is None:
                self._absent.start = t
            self._absent_reason = reason
            # a head turned beyond what the mesh can track is still looking away
            off = True if self._prev_off else None
            self._closed = False
            self._yawning = False

        # eye closure episodes and blinks (a closed-eyes frame during a yawn is a squint)
        if eyes_closed and self._closure.start is None:
            self._closure.start = t
        elif not eyes_closed and self._closure.start is not None:
            dur = t - self._closure.start
            if dur < s.blink_max_s and visible:
                self._blinks.append((t, dur))
            self._closure.start = None
        while self._blinks and self._blinks[0][0] < t - 60.0:
            self._blinks.popleft()

        # glances away from the road
        if off:
            if self._off.start is None:
                self._off.start = t
                self._offroad_spans.append([t, t])
            self._offroad_spans[-1][1] = t
        elif self._off.start is not None:
            self._offroad_spans[-1][1] = t  # the glance lasted until this on-road frame
            self._off.start = None
        if visible:
            self._prev_off = off

        # yawns
        if self._yawning and self._yawn.start is None:
            self._yawn.start = t
            self._yawns += 1
        elif not self._yawning:
            self._yawn.start = None

        self._prev = sig
        self._prev_closed = eyes_closed
        perclos, coverage = self._perclos_value(t)
        elapsed_blink = min(60.0, t - (self._first_t if self._first_t is not None else t))
        bpm = len(self._blinks) * 60.0 / elapsed_blink if elapsed_blink >= 10.0 else None
        self.snapshot = StateSnapshot(
            time=t,
            calibrated=self.calibration.done,
            face_present=sig.face_present,
            eyes_closed=eyes_closed,
            openness_ratio=openness_ratio,
            closure_s=self._closure.dur(t),
            closure_start=self._closure.start,
            perclos=perclos,
            perclos_coverage_s=coverage,
            blinks_per_min=bpm,
            mean_blink_s=float(np.mean([d for _, d in self._blinks])) if self._blinks else None,
            off_road=off,
            off_road_s=self._off.dur(t),
            off_road_start=self._off.start,
            cumulative_off_road_s=self._cumulative(t),
            yawning=self._yawning,
            yawn_s=self._yawn.dur(t),
            yawn_start=self._yawn.start,
            yawns=self._yawns,
            absent_s=self._absent.dur(t),
            absent_start=self._absent.start,
            absent_reason=self._absent_reason,
            gaze_offset=gaze_off,
        )
        return self.snapshot

    @property
    def blinks(self) -> list[tuple[float, float]]:
        """(end time, duration) of the blinks of the last minute."""
        return list(self._blinks)
