"""The detection stage: a registry of detectors that all return `Observation`s.

Tracking, zones and redaction need only a box, a score and a label; face
recognition also needs the `Face` (landmarks). Every face detector of
`clearsight.vision.face_detection` is available by its name; people detectors
register here (`opencv-hog-people` now; the converted object detectors of
`clearsight.vision.objects` plug in through `register_stage_detector`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import UnknownBackendError
from ..types import BBox, Face


@dataclass(frozen=True, slots=True)
class Observation:
    box: BBox
    score: float
    label: str
    face: Face | None = None


class StageDetector(Protocol):
    name: str
    label: str

    def detect(self, rgb: np.ndarray) -> list[Observation]: ...


_STAGE_DETECTORS: dict[str, Callable[..., StageDetector]] = {}


def register_stage_detector(name: str) -> Callable[[Callable[..., StageDetector]], Callable[..., StageDetector]]:
    def deco(factory: Callable[..., StageDetector]) -> Callable[..., StageDetector]:
        _STAGE_DETECTORS[name] = factory
        return factory

    return deco


def available_stage_detectors() -> list[str]:
    from ..vision.face_detection import available_detectors

    return sorted(set(_STAGE_DETECTORS) | set(available_detectors()))


def create_stage_detector(name: str, *, min_score: float = 0.5, max_side: int | None = None, **options: object) -> StageDetector:
    if name in _STAGE_DETECTORS:
        det = _STAGE_DETECTORS[name](min_score=min_score, **options)
    else:
        from ..vision.face_detection import available_detectors

        if name not in available_detectors():
            raise UnknownBackendError(f"unknown detector {name!r}; choose from {', '.join(available_stage_detectors())}")
        det = FaceStageDetector(name, min_score=min_score, **options)
    return _Downscaled(det, max_side) if max_side else det


class FaceStageDetector:
    label = "face"

    def __init__(self, name: str, *, min_score: float = 0.5, **options: object) -> None:
        from ..vision.face_detection import create_detector

        self.name = name
        self._det = create_detector(name, min_score=min_score, **options) if name != "dlib-hog" else create_detector(name, **options)
        self.min_score = min_score

    def detect(self, rgb: np.ndarray) -> list[Observation]:
        return [Observation(f.box, f.score, "face", f) for f in self._det.detect(rgb) if f.score >= self.min_score or self.name == "dlib-hog"]


@register_stage_detector("opencv-hog-people")
class HogPeopleDetector:
    """OpenCV's HOG + linear SVM pedestrian detector (Dalal-Triggs): no extra weights, modest accuracy.

    The SVM margin is squashed to 0..1 so ByteTrack's confidence thresholds mean
    something: margin 0 -> 0.5, margin 1 -> 0.88. Boxes are shrunk to the person
    inside the detection window: the 64x128 Dalal-Triggs window keeps 16 px of
    context left and right and 8 px above and below the body, so a raw window box
    is ~30% larger than a tight person box (and scores IoU < 0.5 against one).
    """

    INSET_X = 16 / 64 / 2  # per side
    INSET_Y = 8 / 128

    name = "opencv-hog-people"
    label = "person"

    def __init__(self, min_score: float = 0.5, win_stride: int = 8, scale: float = 1.05, nms_iou: float = 0.45) -> None:
        import cv2

        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.min_score = float(min_score)
        self.win_stride = int(win_stride)
        self.scale = float(scale)
        self.nms_iou = float(nms_iou)

    def detect(self, rgb: np.ndarray) -> list[Observation]:
        import cv2

        from ..vision.face_detection import nms

        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        rects, weights = self._hog.detectMultiScale(gray, winStride=(self.win_stride, self.win_stride), padding=(8, 8), scale=self.scale)
        if len(rects) == 0:
            return []
        ix, iy = self.INSET_X, self.INSET_Y
        boxes = np.array([[x + ix * w, y + iy * h, x + w - ix * w, y + h - iy * h] for x, y, w, h in rects], dtype=np.float32)
        scores = 1.0 / (1.0 + np.exp(-2.0 * np.asarray(weights, dtype=np.float32).reshape(-1)))
        keep = [i for i in nms(boxes, scores, self.nms_iou) if scores[i] >= self.min_score]
        h, w = rgb.shape[:2]
        return [Observation(BBox(*boxes[i]).clip(w, h), float(scores[i]), "person") for i in keep]


class _Downscaled:
    """Detect on a smaller copy (speed on 1080p streams); boxes and landmarks scaled back."""

    def __init__(self, inner: StageDetector, max_side: int) -> None:
        self.inner = inner
        self.max_side = int(max_side)
        self.name = inner.name
        self.label = inner.label

    def detect(self, rgb: np.ndarray) -> list[Observation]:
        import cv2

        from ..types import Landmarks

        h, w = rgb.shape[:2]
        s = self.max_side / max(h, w)
        if s >= 1:
            return self.inner.detect(rgb)
        small = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        out = []
        for o in self.inner.detect(small):
            b = BBox(o.box.x1 / s, o.box.y1 / s, o.box.x2 / s, o.box.y2 / s).clip(w, h)
            face = None
            if o.face is not None:
                face = Face(b, o.face.score, Landmarks(o.face.landmarks.points / s), o.face.detector)
            out.append(Observation(b, o.score, o.label, face))
        return out
