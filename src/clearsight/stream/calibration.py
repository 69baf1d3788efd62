"""Ground-plane calibration: image pixels -> metres on the road (or floor).

Why a homography: a fixed camera looking at a flat road sees it through a
projective map; four image points whose ground positions are known (lane-marking
corners, a parking bay measured with a tape) fix it exactly, and speeds, distances
and directions in metres follow for every point on that plane. The box's bottom
centre (where a vehicle or a person touches the ground) is the point to map.

The simpler alternative, a known distance between two image points, gives one
metres-per-pixel scale: right for a camera looking straight down, approximate
elsewhere (the scale of a perspective view changes with depth), and documented
as such.

Pure maths (numpy, OpenCV): the traffic and crowd apps share it. Bad input fails
here, before a camera starts, with a message that says which point is wrong:
points outside the frame, three of the four on one line (in the image or on the
ground), or a fit that does not reproduce its own points.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from ..errors import InputError

Point = tuple[float, float]


class CalibrationError(InputError):
    """The calibration points cannot define a ground plane (the message says which)."""

    code = "invalid_calibration"


class GroundMap(Protocol):
    """Maps image pixels to ground metres."""

    kind: str

    def to_ground(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) pixels -> (N, 2) metres."""
        ...

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) metres -> (N, 2) pixels."""
        ...


# a triangle of the four points whose area is below this fraction of the points' bounding box is "collinear"
_COLLINEAR_FRACTION = 0.02
# a fit that misses its own points by more than this (relative to the points' spread) is degenerate
_MAX_REPROJECTION = 1e-3


def _check_frame(points: np.ndarray, frame_size: tuple[int, int] | None, what: str) -> None:
    if frame_size is None:
        return
    w, h = frame_size
    if w <= 0 or h <= 0:
        raise CalibrationError(f"frame size must be positive, got {w}x{h}")
    for i, (x, y) in enumerate(points):
        if not (0 <= x <= w and 0 <= y <= h):
            raise CalibrationError(f"{what} point {i + 1} ({x:g}, {y:g}) is outside the {w}x{h} frame")


def _collinear_triple(points: np.ndarray) -> tuple[int, int, int] | None:
    span = np.ptp(points, axis=0)
    scale = float(span[0] * span[1]) or float(max(span.max(), 1e-12) ** 2)
    for a, b, c in itertools.combinations(range(len(points)), 3):
        p, q, r = points[a], points[b], points[c]
        area = abs((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])) / 2.0
        if area < _COLLINEAR_FRACTION * scale:
            return a, b, c
    return None


def _check_not_collinear(points: np.ndarray, what: str) -> None:
    """4 points: no three on one line. More: at least 4 of them so (extra points may lie anywhere)."""
    bad = _collinear_triple(points)
    if bad is None:
        return
    if len(points) > 4 and any(_collinear_triple(points[list(q)]) is None
                               for q in itertools.combinations(range(len(points)), 4)):
        return
    a, b, c = bad
    raise CalibrationError(
        f"{what} points {a + 1}, {b + 1} and {c + 1} are (nearly) on one line; choose 4 points that span a "
        "quadrilateral, e.g. the corners of a lane section")


def _check_finite(points: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(points)):
        raise CalibrationError(f"{what} points must be finite numbers")


@dataclass(frozen=True, slots=True)
class Homography:
    """Four (or more) image points with their ground coordinates in metres."""

    matrix: np.ndarray  # 3x3, image -> ground
    inverse: np.ndarray  # 3x3, ground -> image
    kind: str = "homography"

    @classmethod
    def fit(cls, image_points: object, ground_points: object, *, frame_size: tuple[int, int] | None = None) -> Homography:
        img = np.asarray(image_points, dtype=np.float64)
        gnd = np.asarray(ground_points, dtype=np.float64)
        if img.ndim != 2 or img.shape[1] != 2 or gnd.shape != img.shape:
            raise CalibrationError("give image points and ground points as two lists of [x, y] pairs of equal length")
        if len(img) < 4:
            raise CalibrationError(f"a ground-plane calibration needs 4 points, got {len(img)}")
        _check_finite(img, "image")
        _check_finite(gnd, "ground")
        _check_frame(img, frame_size, "image")
        _check_not_collinear(img, "image")
        _check_not_collinear(gnd, "ground")
        if len(img) == 4:
            m = cv2.getPerspectiveTransform(img.astype(np.float32), gnd.astype(np.float32))
        else:
            m, _ = cv2.findHomography(img, gnd, 0)
        if m is None or not np.all(np.isfinite(m)) or abs(np.linalg.det(m)) < 1e-12:
            raise CalibrationError("the points give a degenerate ground-plane fit; check their order (image point i "
                                   "must be ground point i)")
        inv = np.linalg.inv(m)
        h = cls(m, inv)
        # every image point must lie in front of the camera (positive projective scale) and map back onto its
        # ground point: a crossed order (1-2-4-3) fits 4 points exactly but folds the plane
        w = (np.c_[img, np.ones(len(img))] @ m.T)[:, 2]
        if not (np.all(w > 0) or np.all(w < 0)):
            raise CalibrationError("the points give a folded ground plane (the horizon runs between them); check "
                                   "that the ground points are listed in the same order as the image points")
        err = np.abs(h.to_ground(img) - gnd).max() / max(float(np.ptp(gnd, axis=0).max()), 1e-9)
        if len(img) == 4 and err > _MAX_REPROJECTION:
            raise CalibrationError(f"the ground-plane fit misses its own points by {err:.1%} of their spread; the "
                                   "points are inconsistent")
        return h

    def to_ground(self, points: np.ndarray) -> np.ndarray:
        return _apply(self.matrix, points)

    def to_image(self, points: np.ndarray) -> np.ndarray:
        return _apply(self.inverse, points)


def _apply(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    q = np.c_[p, np.ones(len(p))] @ m.T
    return q[:, :2] / q[:, 2:3]


@dataclass(frozen=True, slots=True)
class KnownDistance:
    """Two image points a known distance apart: one metres-per-pixel scale for the whole frame."""

    metres_per_pixel: float
    kind: str = "distance"

    @classmethod
    def fit(cls, a: Point, b: Point, metres: float, *, frame_size: tuple[int, int] | None = None) -> KnownDistance:
        pts = np.asarray([a, b], dtype=np.float64)
        _check_finite(pts, "image")
        _check_frame(pts, frame_size, "image")
        if not (math.isfinite(metres) and metres > 0):
            raise CalibrationError(f"the known distance must be a positive number of metres, got {metres}")
        px = float(np.hypot(*(pts[1] - pts[0])))
        if px < 2.0:
            raise CalibrationError("the two points of a known distance must be at least 2 pixels apart")
        return cls(metres / px)

    def to_ground(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, dtype=np.float64).reshape(-1, 2) * self.metres_per_pixel

    def to_image(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, dtype=np.float64).reshape(-1, 2) / self.metres_per_pixel


def scale_points(points: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """Points clicked on a frame of `from_size` moved to a frame of `to_size` (same view, other resolution)."""
    s = np.array([to_size[0] / from_size[0], to_size[1] / from_size[1]], dtype=np.float64)
    return np.asarray(points, dtype=np.float64).reshape(-1, 2) * s


__all__ = ["CalibrationError", "GroundMap", "Homography", "KnownDistance", "scale_points"]
