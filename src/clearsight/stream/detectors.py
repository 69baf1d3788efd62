"""The detection stage: a registry of detectors that all return `Observation`s.

Tracking, zones and redaction need only a box, a score and a label; face
recognition also needs the `Face` (landmarks). Every face detector of
`clearsight.vision.face_detection` is available by its name; people detectors
register here: `opencv-hog-people`, and the converted COCO detectors of
`clearsight.vision.objects` (`centernet`, `nanodet`) for people and vehicles,
whose `Observation.label` is the COCO class name (person, car, bus, truck,
motorcycle, bicycle), with optional tiles (sliced inference) for small objects.

Every detector has an options model (its own schema): a camera's
`detect.options` is validated against it when the camera file is validated, so
a typo is refused with a message naming the option, not found when the camera
starts.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from ..errors import InputError, UnknownBackendError
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


class DetectorOptions(BaseModel):
    """Base of every detector's options: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoOptions(DetectorOptions):
    """A detector without options."""


class MediaPipeOptions(DetectorOptions):
    full_range: bool = Field(default=True, description="BlazeFace's full-range model (faces up to ~5 m) instead of "
                             "the short-range one (within ~2 m).")


class CenterFaceOptions(DetectorOptions):
    max_side: int = Field(default=1280, ge=64, le=4096, description="Longest side the network sees, in pixels.")
    nms_iou: float = Field(default=0.3, ge=0, le=1, description="Overlap above which two boxes are one face.")
    threads: int | None = Field(default=None, ge=1, le=64, description="onnxruntime threads per frame (None: the "
                                "`threads` setting).")


class DlibHogOptions(DetectorOptions):
    upsample: int = Field(default=1, ge=0, le=4, description="Times the image is upsampled first (finds smaller "
                          "faces, slower).")


class HogPeopleOptions(DetectorOptions):
    win_stride: int = Field(default=8, ge=1, le=64, description="Step of the detection window, in pixels.")
    scale: float = Field(default=1.05, gt=1, le=2, description="Image pyramid scale step.")
    nms_iou: float = Field(default=0.45, ge=0, le=1, description="Overlap above which two boxes are one person.")


class ObjectOptions(DetectorOptions):
    """Options of the COCO object detectors (centernet, nanodet) as a stage."""

    classes: list[str] = Field(
        default_factory=lambda: ["person", "bicycle", "car", "motorcycle", "bus", "truck"],
        min_length=1, description="COCO classes to keep (default: people and vehicles); any of the 80 COCO names.")
    letterbox: bool = Field(default=True, description="Pad the frame to the square input instead of stretching it "
                            "(measured better on every set, see bench/objects.py).")
    tiles: tuple[int, int] | None = Field(
        default=None, description="Sliced inference for small objects: [rows, cols] of overlapping tiles, each run at "
        "the network's full input size, merged with the whole-frame pass by NMS. Costs rows*cols (+1) inferences. "
        "Null: the whole frame only.")
    tile_overlap: float = Field(default=0.25, ge=0, lt=0.9, description="Fraction by which neighbouring tiles overlap "
                                "(an object cut by one tile is whole in the next).")
    full_frame: bool = Field(default=True, description="With tiles: also run the whole frame (finds objects larger "
                             "than a tile). False saves one inference when everything is small (a highway from a mast).")
    nms_iou: float = Field(default=0.45, ge=0, le=1, description="Overlap above which two boxes of one class group are "
                           "one object.")
    merge_classes: bool = Field(default=True, description="One box per object across classes of a group (car/bus/"
                                "truck; bicycle/motorcycle): the best-scored label wins. False keeps per-class boxes.")

    @field_validator("classes")
    @classmethod
    def _coco(cls, v: list[str]) -> list[str]:
        from ..vision.objects import COCO_CLASSES

        bad = [c for c in v if c not in COCO_CLASSES]
        if bad:
            raise ValueError(f"unknown COCO class(es) {bad}; e.g. person, bicycle, car, motorcycle, bus, truck")
        return v

    @field_validator("tiles")
    @classmethod
    def _grid(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not (1 <= v[0] <= 8 and 1 <= v[1] <= 8):
            raise ValueError("tiles must be [rows, cols], each 1..8")
        return v


@dataclass(frozen=True, slots=True)
class StageDetectorSpec:
    factory: Callable[..., StageDetector]
    options: type[DetectorOptions]


_STAGE_DETECTORS: dict[str, StageDetectorSpec] = {}
# options of the face detectors `clearsight.vision.face_detection` registers (they are built through it;
# min_score is the stage's own setting, not an option)
_FACE_DETECTOR_OPTIONS: dict[str, type[DetectorOptions]] = {
    "mediapipe": MediaPipeOptions, "centerface": CenterFaceOptions, "dlib-hog": DlibHogOptions,
}


def register_stage_detector(
    name: str, options: type[DetectorOptions] | None = None,
) -> Callable[[Callable[..., StageDetector]], Callable[..., StageDetector]]:
    """Register a detector factory `factory(min_score=..., **options)`; `options` is its schema
    (default: derived from the factory's keyword parameters)."""

    def deco(factory: Callable[..., StageDetector]) -> Callable[..., StageDetector]:
        _STAGE_DETECTORS[name] = StageDetectorSpec(factory, options or _options_from_signature(name, factory))
        return factory

    return deco


def _options_from_signature(name: str, factory: Callable[..., object]) -> type[DetectorOptions]:
    """An options model from a factory's keyword parameters (minus `min_score`, which the stage sets)."""
    fields: dict[str, Any] = {}
    for p in inspect.signature(factory).parameters.values():
        if p.name in ("self", "min_score") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = ... if p.default is p.empty else p.default
        annotation = type(default) if default not in (..., None) else Any
        fields[p.name] = (annotation, default)
    return create_model(f"{name}-options", __base__=DetectorOptions, **fields)


def available_stage_detectors() -> list[str]:
    from ..vision.face_detection import available_detectors

    return sorted(set(_STAGE_DETECTORS) | set(available_detectors()))


def detector_options_model(name: str) -> type[DetectorOptions]:
    """The options schema of detector `name` (UnknownBackendError for an unknown name)."""
    if name in _STAGE_DETECTORS:
        return _STAGE_DETECTORS[name].options
    from ..vision.face_detection import available_detectors

    if name not in available_detectors():
        raise UnknownBackendError(f"unknown detector {name!r}; choose from {', '.join(available_stage_detectors())}")
    # a face detector added to vision without an entry here takes no options until it gets one
    return _FACE_DETECTOR_OPTIONS.get(name, NoOptions)


def validate_detector_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """`options` checked against detector `name`'s schema; returns them as given (defaults are the detector's).

    Raises ValueError (inside a pydantic model it becomes a validation error that names the field).
    """
    try:
        model = detector_options_model(name)
    except UnknownBackendError as exc:
        raise ValueError(str(exc)) from None
    try:
        model.model_validate(options)
    except ValidationError as exc:
        bad = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(options)'}: {e['msg']}" for e in exc.errors())
        allowed = ", ".join(model.model_fields) or "none"
        raise ValueError(f"invalid options for detector {name!r}: {bad} (its options: {allowed})") from None
    return options


def create_stage_detector(name: str, *, min_score: float = 0.5, max_side: int | None = None, **options: object) -> StageDetector:
    try:
        validate_detector_options(name, dict(options))
    except ValueError as exc:
        if name not in available_stage_detectors():
            raise UnknownBackendError(str(exc)) from None
        raise InputError(str(exc)) from None
    if name in _STAGE_DETECTORS:
        det = _STAGE_DETECTORS[name].factory(min_score=min_score, **options)
    else:
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


@register_stage_detector("opencv-hog-people", HogPeopleOptions)
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


class ObjectStageDetector:
    """A COCO detector of `clearsight.vision.objects` as a stage: people and vehicles by class name.

    Tiles pay off when objects are small against the frame: on NGSIM (640x480
    highway, vehicles ~25x20 px) centernet's whole-frame pass found 65% of vehicles
    at its best threshold, 2x2 tiles plus the frame 83% (bench/traffic.py). Duplicates
    across tiles and across a group's classes are merged (`merge_duplicates`).
    """

    def __init__(self, backend: str, *, min_score: float = 0.4, classes: list[str] | None = None, letterbox: bool = True,
                 tiles: tuple[int, int] | list[int] | None = None, tile_overlap: float = 0.25, full_frame: bool = True,
                 nms_iou: float = 0.45, merge_classes: bool = True) -> None:
        from ..vision.objects import PEOPLE_AND_VEHICLES, TiledDetector, create_object_detector

        self.name = backend
        self.classes = tuple(classes or PEOPLE_AND_VEHICLES)
        # the pipeline anchors zones at the feet for anything that is not a face
        self.label = "person" if self.classes == ("person",) else "object"
        self.min_score = float(min_score)
        self.nms_iou, self.merge_classes = float(nms_iou), bool(merge_classes)
        base = create_object_detector(backend, min_score=self.min_score, letterbox=letterbox)
        self._det = base
        if tiles:
            self._det = TiledDetector(base, (int(tiles[0]), int(tiles[1])), overlap=tile_overlap, nms_iou=nms_iou,
                                      full_frame=full_frame, merge_groups=merge_classes)

    def detect(self, rgb: np.ndarray) -> list[Observation]:
        from ..vision.objects import merge_duplicates

        dets = self._det.detect(rgb, self.classes)
        if self.merge_classes:
            dets = merge_duplicates(dets, self.nms_iou)
        return [Observation(d.box, d.score, d.label) for d in dets]


def _object_factory(backend: str) -> Callable[..., StageDetector]:
    def factory(*, min_score: float = 0.4, **options: object) -> StageDetector:
        return ObjectStageDetector(backend, min_score=min_score, **options)  # type: ignore[arg-type]

    factory.__name__ = f"{backend}_stage"
    return factory


for _backend in ("centernet", "nanodet"):
    register_stage_detector(_backend, ObjectOptions)(_object_factory(_backend))


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
