"""Typed results shared by every layer.

Frozen dataclasses so results can be cached, hashed into audit records and passed
between threads without defensive copies. Coordinates are always pixels of the
image as decoded (after EXIF orientation), x to the right, y down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class BBox:
    """Axis-aligned box in pixels, (x1, y1) top-left inclusive, (x2, y2) bottom-right."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return max(0.0, self.x2 - self.x1)

    @property
    def height(self) -> float:
        return max(0.0, self.y2 - self.y1)

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)

    def iou(self, other: BBox) -> float:
        ix = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def clip(self, width: int, height: int) -> BBox:
        return BBox(
            min(max(self.x1, 0.0), width),
            min(max(self.y1, 0.0), height),
            min(max(self.x2, 0.0), width),
            min(max(self.y2, 0.0), height),
        )

    def scaled(self, factor: float) -> BBox:
        """The box grown (or shrunk) about its centre."""
        cx, cy = self.center
        hw, hh = self.width * factor / 2.0, self.height * factor / 2.0
        return BBox(cx - hw, cy - hh, cx + hw, cy + hh)

    def as_xyxy(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def to_dict(self) -> dict[str, float]:
        return {"x1": round(self.x1, 2), "y1": round(self.y1, 2), "x2": round(self.x2, 2), "y2": round(self.y2, 2)}


# The five landmarks every detector reports in this order (image-left first, as
# seen by the viewer): the order ArcFace-style templates use.
FIVE_POINT_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@dataclass(frozen=True, slots=True)
class Landmarks:
    """Named 2-D points; `points` is float32 of shape (N, 2) (or (N, 3) for a mesh with depth)."""

    points: np.ndarray
    kind: str = "five"  # "five", "mesh478", "dlib5", "dlib68"

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=np.float32)
        pts.setflags(write=False)
        object.__setattr__(self, "points", pts)

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def xy(self) -> np.ndarray:
        return self.points[:, :2]

    def to_list(self) -> list[list[float]]:
        return [[round(float(v), 2) for v in p] for p in self.points]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Landmarks) and self.kind == other.kind and np.array_equal(self.points, other.points)

    def __hash__(self) -> int:
        return hash((self.kind, self.points.tobytes()))


@dataclass(frozen=True, slots=True)
class HeadPose:
    """Degrees. yaw > 0: the face turns to the image's right; pitch > 0: looks up; roll > 0: clockwise."""

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face: where it is, how sure the detector is, and its 5 landmarks."""

    box: BBox
    score: float
    landmarks: Landmarks
    detector: str
    mesh: Landmarks | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "box": self.box.to_dict(),
            "score": round(float(self.score), 4),
            "landmarks": dict(zip(FIVE_POINT_NAMES, self.landmarks.to_list())),
            "detector": self.detector,
        }
        if self.mesh is not None:
            d["mesh_points"] = len(self.mesh)
        return d


@dataclass(frozen=True, slots=True)
class Detection:
    """A generic object detection (person, car, plate ...)."""

    box: BBox
    score: float
    label: str
    class_id: int = -1


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Why a face is (not) good enough to enrol or match; `reasons` name each failed check."""

    score: float
    passed: bool
    reasons: tuple[str, ...]
    face_size: float
    sharpness: float
    brightness: float
    pose: HeadPose

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 3),
            "passed": self.passed,
            "reasons": list(self.reasons),
            "face_size": round(self.face_size, 1),
            "sharpness": round(self.sharpness, 1),
            "brightness": round(self.brightness, 1),
            "pose": {"yaw": round(self.pose.yaw, 1), "pitch": round(self.pose.pitch, 1), "roll": round(self.pose.roll, 1)},
        }


@dataclass(frozen=True, slots=True)
class Embedding:
    """An L2-normalised face template and the model (name@version) that made it.

    Templates from different models are never comparable; carrying the model name
    lets every consumer refuse a mismatch instead of returning nonsense scores.
    """

    vector: np.ndarray
    model: str

    def __post_init__(self) -> None:
        v = np.asarray(self.vector, dtype=np.float32).reshape(-1)
        v.setflags(write=False)
        object.__setattr__(self, "vector", v)

    @property
    def dim(self) -> int:
        return int(self.vector.shape[0])


class Decision(str, Enum):
    MATCH = "match"
    NO_MATCH = "no_match"
    # a face failed the quality gate: the similarity cannot be trusted either way
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class Verification:
    """Result of a 1:1 comparison at a named operating point."""

    similarity: float
    decision: Decision
    threshold: float
    operating_point: str
    target_fmr: float
    model: str
    # why the decision is inconclusive (failed quality checks, prefixed by the face: "a:face_too_small")
    # kw_only: subclasses (IdentityVerification) add required fields after these
    reasons: tuple[str, ...] = field(default=(), kw_only=True)
    id_photo: bool = field(default=False, kw_only=True)

    @property
    def is_match(self) -> bool:
        return self.decision is Decision.MATCH

    def to_dict(self) -> dict[str, Any]:
        return {
            "similarity": round(self.similarity, 4),
            "decision": self.decision.value,
            "match": self.is_match,
            "threshold": round(self.threshold, 4),
            "operating_point": self.operating_point,
            "target_fmr": self.target_fmr,
            "model": self.model,
            "reasons": list(self.reasons),
            "id_photo": self.id_photo,
        }


@dataclass(frozen=True, slots=True)
class Track:
    """An object followed across frames."""

    track_id: int
    box: BBox
    label: str = "face"
    score: float = 1.0
    age: int = 0


@dataclass(frozen=True, slots=True)
class Match:
    """A gallery search hit.

    `is_match` is the open-set decision: the search held `fpir` over the `n`
    identities it compared, by requiring `similarity >= threshold`. It is true for
    at most one hit, and never in `candidates` mode (a list for human review).
    `operating_point` is only the strictest 1:1 point the similarity passes, a
    per-comparison rate that says nothing about a search over n people.
    """

    identity_id: str
    similarity: float
    operating_point: str | None = None
    template_id: str | None = None
    display_name: str | None = None
    is_match: bool = False
    threshold: float | None = None
    fpir: float | None = None
    n: int | None = None
    mode: str | None = None  # "decision" | "candidates"
    templates: int = 1  # templates fused into `similarity`

    @property
    def above_threshold(self) -> bool:
        """The similarity passes the search's open-set threshold (a candidate worth reviewing)."""
        return self.threshold is not None and self.similarity >= self.threshold


@dataclass(frozen=True, slots=True)
class Event:
    """Something an analyser observed, routed through rules to sinks.

    `time` is wall-clock (when a file was opened plus the frame's timestamp), which
    cannot say "at 0:03 in this file"; `offset_s` (seconds from the start of the
    source: the container's clock from its first frame for files, since the stream
    was opened for live cameras) and `frame` (the source's frame index) can. The camera pipeline stamps
    both on every event it routes; events made outside a video source leave them None.
    """

    type: str
    camera: str
    time: float
    track_ids: tuple[int, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    snapshot_jpeg: bytes | None = None
    offset_s: float | None = None
    frame: int | None = None
