"""An agitation index (calm vs. nervous) from cues a camera can measure.

What it is: a 0..1 score combining
* head-motion energy: angle the head travels per second (deg/s) over the last
  `agitation_window_s`, relative to the driver's own calm level (learned during
  the first minute, floored at 10 deg/s); restless head movements raise it;
* blink-rate change: blinks per minute relative to the driver's first minute
  (stress and anxiety raise the blink rate; fatigue also does, so this cue alone
  is ambiguous and gets the smallest weight);
* expression (optional): if an expression model is available
  (`clearsight.face.expression`, a callable rgb+mesh -> probability of an
  aroused/negative expression), its output is averaged over the window.

What it is not: a measure of emotion, stress or intent. Head motion also rises
on a winding road or when talking to a passenger; blink rate also rises with
dry air, screens and tiredness. The index only says "this driver moves and
blinks much more than they did at the start of the drive"; any alert built on it
should be advisory. It is never used to infer anything about who the driver is.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...settings import DmsSettings
from .signals import FrameSignals

ExpressionFn = Callable[[np.ndarray, Any], float]

W_MOTION, W_BLINK, W_EXPR = 0.6, 0.25, 0.15
# head motion of ordinary driving (mirror checks, small adjustments): ratios are
# taken against at least this, so a still driver's first glance is not "agitation"
CALM_FLOOR_DEG_S = 10.0


def optional_expression_model() -> ExpressionFn | None:
    """The expression cue if another area provides it (clearsight.face.expression.arousal)."""
    try:
        from ...face import expression  # type: ignore[attr-defined]
    except ImportError:
        return None
    fn = getattr(expression, "arousal", None)
    return fn if callable(fn) else None


def _squash(ratio: float) -> float:
    """1x the calm level -> 0, 2x -> ~0.5, 4x -> ~0.9."""
    return float(1.0 - math.exp(-max(0.0, ratio - 1.0) * 0.7))


@dataclass(frozen=True, slots=True)
class Agitation:
    index: float
    motion_deg_s: float
    motion_score: float
    blink_score: float | None
    expression_score: float | None

    def to_dict(self) -> dict[str, Any]:
        r = lambda v: None if v is None else round(float(v), 3)  # noqa: E731
        return {"index": r(self.index), "motion_deg_s": r(self.motion_deg_s), "motion": r(self.motion_score), "blink": r(self.blink_score), "expression": r(self.expression_score)}


class AgitationMeter:
    def __init__(self, settings: DmsSettings | None = None, expression: ExpressionFn | None = None) -> None:
        self.s = settings or DmsSettings()
        self._expr = expression
        self._poses: deque[tuple[float, float, float, float]] = deque()  # t, yaw, pitch, roll
        self._expr_vals: deque[tuple[float, float]] = deque()
        self._calm_speeds: list[float] = []
        self._calm_until: float | None = None
        self._baseline_bpm: float | None = None

    def update(self, sig: FrameSignals, blinks_per_min: float | None, rgb: np.ndarray | None = None) -> Agitation:
        t = sig.time
        if self._calm_until is None:
            self._calm_until = t + 60.0
        if sig.pose is not None:
            self._poses.append((t, sig.pose.yaw, sig.pose.pitch, sig.pose.roll))
        lo = t - self.s.agitation_window_s
        while self._poses and self._poses[0][0] < lo:
            self._poses.popleft()
        speed = 0.0
        if len(self._poses) >= 3:
            p = np.asarray(self._poses)
            dt = np.diff(p[:, 0])
            ok = (dt > 0) & (dt <= self.s.max_frame_gap_s)
            if ok.any():
                # angle travelled per second over the window: one turn to the mirror
                # and back (~90 deg) adds ~9 deg/s to a 10 s window; restless
                # shaking or repeated jerks add far more
                steps = np.minimum(np.linalg.norm(np.diff(p[:, 1:], axis=0), axis=1)[ok], 60.0)
                # over the full window even at start-up: a few jittery first frames are not a rate
                speed = float(steps.sum() / max(p[-1, 0] - p[0, 0], self.s.agitation_window_s))
        if t <= self._calm_until:
            self._calm_speeds.append(speed)
            if blinks_per_min is not None:
                self._baseline_bpm = blinks_per_min
        calm = max(float(np.median(self._calm_speeds)) if self._calm_speeds else 0.0, CALM_FLOOR_DEG_S)
        motion = _squash(speed / calm)
        blink = None
        if blinks_per_min is not None and self._baseline_bpm is not None and t > self._calm_until:
            blink = _squash(blinks_per_min / max(self._baseline_bpm, 8.0))
        expr = None
        if self._expr is not None and rgb is not None and sig.mesh is not None:
            self._expr_vals.append((t, float(self._expr(rgb, sig.mesh))))
        while self._expr_vals and self._expr_vals[0][0] < lo:
            self._expr_vals.popleft()
        if self._expr_vals:
            expr = float(np.mean([v for _, v in self._expr_vals]))
        parts = [(W_MOTION, motion), (W_BLINK, blink), (W_EXPR, expr)]
        wsum = sum(w for w, v in parts if v is not None)
        index = sum(w * v for w, v in parts if v is not None) / wsum
        return Agitation(index, speed, motion, blink, expr)
