"""Per-frame driver signals from MediaPipe's 478-point mesh with iris.

Everything downstream (blinks, PERCLOS, glances, alerts) is built on the few
numbers computed here, so each one is made as independent of the camera set-up
as we can: eye openness is measured on the mesh *frontalised* with the head pose
(a driver looking at the mirror has foreshortened eyes, not closing ones), gaze
is head pose plus the iris offset inside the eye, and frame conditions (dark,
blocked) are reported separately from "no face" because they call for a
different message to the driver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ...types import BBox, HeadPose, Landmarks

# --- mesh indices (MediaPipe face mesh topology) ------------------------------
# Eye contours as the iris model orders them: outer/inner corner, then seven lower
# lid and seven upper lid points running from corner to corner, so lower[i] and
# upper[i] face each other across the eye opening.
#   "right" = the driver's right eye = image left in an unmirrored camera.
EYES: dict[str, dict[str, Any]] = {
    "right": {
        "corners": (33, 133),
        "lower": (7, 163, 144, 145, 153, 154, 155),
        "upper": (246, 161, 160, 159, 158, 157, 173),
        "iris": (468, 469, 470, 471, 472),
    },
    "left": {
        "corners": (263, 362),
        "lower": (249, 390, 373, 374, 380, 381, 382),
        "upper": (466, 388, 387, 386, 385, 384, 398),
        "iris": (473, 474, 475, 476, 477),
    },
}
# Inner lips (upper / lower, facing pairs) and the outer mouth corners.
MOUTH_UPPER = (82, 13, 312)
MOUTH_LOWER = (87, 14, 317)
MOUTH_CORNERS = (61, 291)

# --- 3-D face model for solvePnP -------------------------------------------------
# No canonical face geometry ships in the mediapipe wheel (modules/face_geometry/data
# is empty), so we use six landmarks with average adult anthropometric positions in
# millimetres (Farkas, "Anthropometry of the Head and Face", 1994: biocular width
# ex-ex ~90 mm, mouth width ch-ch ~50 mm, subnasale-gnathion ~70 mm, endocanthion
# ~35-40 mm above the nose tip, lateral canthi and mouth corners 30-45 mm behind it).
# Camera axes: x to the image right, y down, z away from the camera; origin at the
# nose tip. The absolute pose error of a generic model is a few degrees; the driver
# calibration removes the constant part of it.
POSE_INDICES = (1, 152, 33, 263, 61, 291)
FACE_MODEL_MM = np.array(
    [
        [0.0, 0.0, 0.0],  # 1   pronasale (nose tip)
        [0.0, 72.0, 32.0],  # 152 gnathion (chin)
        [-45.0, -38.0, 45.0],  # 33  right exocanthion (image left)
        [45.0, -38.0, 45.0],  # 263 left exocanthion (image right)
        [-25.0, 28.0, 30.0],  # 61  right cheilion
        [25.0, 28.0, 30.0],  # 291 left cheilion
    ],
    dtype=np.float64,
)


@dataclass(frozen=True, slots=True)
class FrameConditions:
    """What the camera sees before any face is looked for (mean/std of a small gray thumbnail)."""

    brightness: float
    contrast: float
    too_dark: bool
    blocked: bool


@dataclass(frozen=True, slots=True)
class FrameSignals:
    """One frame's measurements. `None` fields mean "not measurable in this frame"."""

    time: float
    face_present: bool
    conditions: FrameConditions
    # lid gap / eye width per eye (driver's right, left): eye-contour model, or the
    # pose-frontalised mesh without it
    eye_openness: tuple[float, float] | None = None
    # inner-lip gap / mouth width (0 closed, ~0.5-1.0 yawning)
    mouth_opening: float | None = None
    pose: HeadPose | None = None
    # iris centre in the eye, -1..1 (x: image right +, y: down +), mean of both eyes
    iris_offset: tuple[float, float] | None = None
    # estimated gaze direction in degrees (yaw: image right +, pitch: up +)
    gaze: tuple[float, float] | None = None
    box: BBox | None = None
    mesh: Landmarks | None = field(default=None, compare=False, repr=False)

    @property
    def openness(self) -> float | None:
        """Both eyes as one number: the mean (a single eye hidden by pose still counts)."""
        if self.eye_openness is None:
            return None
        return float(sum(self.eye_openness) / 2.0)

    def to_dict(self) -> dict[str, Any]:
        r = lambda v, n=3: None if v is None else round(float(v), n)  # noqa: E731
        return {
            "time": round(self.time, 4),
            "face_present": self.face_present,
            "too_dark": self.conditions.too_dark,
            "camera_blocked": self.conditions.blocked,
            "brightness": round(self.conditions.brightness, 1),
            "eye_openness": None if self.eye_openness is None else [r(v) for v in self.eye_openness],
            "mouth_opening": r(self.mouth_opening),
            "pose": None if self.pose is None else {"yaw": r(self.pose.yaw, 1), "pitch": r(self.pose.pitch, 1), "roll": r(self.pose.roll, 1)},
            "gaze": None if self.gaze is None else {"yaw": r(self.gaze[0], 1), "pitch": r(self.gaze[1], 1)},
            "iris_offset": None if self.iris_offset is None else [r(v) for v in self.iris_offset],
            "box": None if self.box is None else self.box.to_dict(),
        }


# --- frame conditions -----------------------------------------------------------
def frame_conditions(rgb: np.ndarray, dark_below: float = 35.0, blocked_contrast_below: float = 6.0) -> FrameConditions:
    """Too dark: mean gray under `dark_below`. Blocked: almost no texture anywhere.

    A hand or sticker over the lens gives a nearly uniform image (gray std of a
    64x48 thumbnail under ~6 levels); a dark cabin at night is dark *and*
    textured, and needs the IR illuminator rather than "uncover the camera".
    """
    small = cv2.resize(rgb, (64, 48), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mean, std = float(gray.mean()), float(gray.std())
    return FrameConditions(mean, std, mean < dark_below, std < blocked_contrast_below)


# --- geometry -------------------------------------------------------------------
def _camera_matrix(width: int, height: int) -> np.ndarray:
    # No intrinsics are known for an arbitrary webcam: a focal length equal to the
    # image width (~53 degrees horizontal field of view) is the usual assumption.
    f = float(width)
    return np.array([[f, 0, width / 2.0], [0, f, height / 2.0], [0, 0, 1]], dtype=np.float64)


def rotation_to_pose(rmat: np.ndarray) -> HeadPose:
    """Euler angles in the HeadPose convention from a model->camera rotation."""
    # R = Rz(roll) @ Ry(yaw) @ Rx(pitch) with OpenCV axes (y down, z forward).
    sy = math.hypot(rmat[0, 0], rmat[1, 0])
    if sy > 1e-6:
        pitch = math.atan2(rmat[2, 1], rmat[2, 2])
        yaw = math.atan2(-rmat[2, 0], sy)
        roll = math.atan2(rmat[1, 0], rmat[0, 0])
    else:  # gimbal lock: the driver is looking straight up or down
        pitch = math.atan2(-rmat[1, 2], rmat[1, 1])
        yaw = math.atan2(-rmat[2, 0], sy)
        roll = 0.0
    # With y down and z away from the camera, a positive rotation about x tips the
    # face down and a positive one about y turns it to the image left; HeadPose
    # wants "looks up" and "turns to the image right" positive. Checked on real
    # frames: no_yawn/2484.jpg (head turned to the side window, image right)
    # gives yaw ~ +58, a roof-mounted camera gives the expected negative pitch.
    return HeadPose(yaw=-math.degrees(yaw), pitch=-math.degrees(pitch), roll=math.degrees(roll))


def head_pose(points: np.ndarray, width: int, height: int) -> tuple[HeadPose, np.ndarray]:
    """Head pose from the mesh by solvePnP on the 6-point face model; also the rotation matrix."""
    img = np.ascontiguousarray(points[list(POSE_INDICES), :2], dtype=np.float64)
    cam = _camera_matrix(width, height)
    ok, rvec, _tvec = cv2.solvePnP(FACE_MODEL_MM, img, cam, None, flags=cv2.SOLVEPNP_SQPNP)
    if not ok:  # pragma: no cover - SQPnP does not fail on 6 non-degenerate points
        return HeadPose(0.0, 0.0, 0.0), np.eye(3)
    rmat, _ = cv2.Rodrigues(rvec)
    return rotation_to_pose(rmat), rmat


def frontalise(points: np.ndarray, rmat: np.ndarray) -> np.ndarray:
    """Undo the head rotation on the mesh's own 3-D points (x, y pixels, z relative depth)."""
    p = np.asarray(points, dtype=np.float64)[:, :3]
    c = p - p.mean(axis=0)
    return c @ rmat  # row-vector form of R^T @ p


def eye_openness(points: np.ndarray, side: str) -> float:
    """Mean lid gap over the seven facing lid pairs, divided by the corner-to-corner width."""
    e = EYES[side]
    a, b = points[e["corners"][0], :2], points[e["corners"][1], :2]
    width = float(np.linalg.norm(a - b))
    if width < 1e-6:
        return 0.0
    gap = np.linalg.norm(points[list(e["upper"]), :2] - points[list(e["lower"]), :2], axis=1)
    return float(gap.mean() / width)


def contour_openness(contour: np.ndarray) -> float:
    """The same measure on the iris model's 71-point output (first 16 = lid contour)."""
    c = np.asarray(contour, dtype=np.float64)[:, :2]
    width = float(np.linalg.norm(c[0] - c[8]))
    if width < 1e-6:
        return 0.0
    return float(np.linalg.norm(c[9:16] - c[1:8], axis=1).mean() / width)


def mouth_opening(points: np.ndarray) -> float:
    gap = np.linalg.norm(points[list(MOUTH_UPPER), :2] - points[list(MOUTH_LOWER), :2], axis=1).mean()
    width = float(np.linalg.norm(points[MOUTH_CORNERS[0], :2] - points[MOUTH_CORNERS[1], :2]))
    return float(gap / width) if width > 1e-6 else 0.0


def iris_offset(points: np.ndarray, side: str) -> tuple[float, float]:
    """Iris centre relative to the eye: x -1 (image-left corner) .. +1, y -1 (upper lid) .. +1."""
    e = EYES[side]
    a, b = points[e["corners"][0], :2], points[e["corners"][1], :2]
    centre = (a + b) / 2.0
    axis = b - a
    half = float(np.linalg.norm(axis)) / 2.0
    if half < 1e-6:
        return 0.0, 0.0
    ux = axis / (2 * half)
    if ux[0] < 0:
        ux = -ux
    uy = np.array([-ux[1], ux[0]])
    iris = points[e["iris"][0], :2]
    mid_lid = (points[e["upper"][3], :2] + points[e["lower"][3], :2]) / 2.0
    lid_half = max(float(np.linalg.norm(points[e["upper"][3], :2] - points[e["lower"][3], :2])) / 2.0, 0.15 * half)
    return float(np.dot(iris - centre, ux) / half), float(np.dot(iris - mid_lid, uy) / lid_half)


# Iris-in-eye offset to eye rotation: the iris centre reaches ~0.55 of the half eye
# width at ~35 degrees of eye rotation (eyeball radius ~12 mm, half palpebral
# fissure ~15 mm). Vertical eye rotation is smaller and the lids follow it, so the
# vertical gain is lower. These gains turn the offset into an approximate angle;
# the calibration subtracts the driver's neutral offset.
GAZE_GAIN_YAW = 60.0
GAZE_GAIN_PITCH = 25.0


def signals_from_mesh(
    mesh: Landmarks,
    time: float,
    width: int,
    height: int,
    conditions: FrameConditions,
    openness: tuple[float, float] | None = None,
) -> FrameSignals:
    """Signals of one mesh; `openness` from the eye-contour model replaces the mesh's lids when given."""
    pts = np.asarray(mesh.points, dtype=np.float64)
    pose, rmat = head_pose(pts, width, height)
    front = frontalise(pts, rmat)
    if openness is None:
        openness = (eye_openness(front, "right"), eye_openness(front, "left"))
    ox = [iris_offset(pts, s) for s in ("right", "left")]
    # beyond +-1 the iris is not inside the eye outline any more: a mesh error at large yaw
    off = (float(np.clip(np.mean([o[0] for o in ox]), -1, 1)), float(np.clip(np.mean([o[1] for o in ox]), -1, 1)))
    gaze = (pose.yaw + GAZE_GAIN_YAW * off[0], pose.pitch - GAZE_GAIN_PITCH * off[1])
    xy = pts[:, :2]
    box = BBox(float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max()))
    return FrameSignals(
        time=time,
        face_present=True,
        conditions=conditions,
        eye_openness=openness,
        mouth_opening=mouth_opening(front),
        pose=pose,
        iris_offset=off,
        gaze=gaze,
        box=box,
        mesh=mesh,
    )


class SignalExtractor:
    """Frame -> FrameSignals with a tracking face mesh (one driver).

    `eye_model=True` (default) measures the lids with the eye-contour model on
    crops the mesh places (see `eyestate`); False uses the mesh's own lid points.
    """

    def __init__(
        self, static: bool = False, dark_below: float = 35.0, blocked_contrast_below: float = 6.0, eye_model: bool = True
    ) -> None:
        from ...vision.landmarks import FaceMesh

        self._mesh = FaceMesh(max_faces=1, static=static)
        self._static = static
        self._dark = dark_below
        self._blocked = blocked_contrast_below
        self._eyes = None
        if eye_model:
            from .eyestate import EyeContourModel

            self._eyes = EyeContourModel()

    def _eye_openness(self, rgb: np.ndarray, pts: np.ndarray) -> tuple[float, float]:
        from .eyestate import eye_crop

        assert self._eyes is not None
        r = EYES["right"]["corners"]
        lft = EYES["left"]["corners"]
        right = self._eyes.openness(eye_crop(rgb, pts[r[0]], pts[r[1]]))
        left = self._eyes.openness(eye_crop(rgb, pts[lft[0]], pts[lft[1]], mirror=True))
        return right, left

    def extract(self, rgb: np.ndarray, time: float) -> FrameSignals:
        cond = frame_conditions(rgb, self._dark, self._blocked)
        meshes = self._mesh.process(rgb)
        if not meshes and not self._static:
            # a lost track (the head jumped) is re-detected on the same frame rather
            # than reported as an absent face for one frame
            meshes = self._mesh.process(rgb)
        if not meshes:
            return FrameSignals(time=time, face_present=False, conditions=cond)
        h, w = rgb.shape[:2]
        openness = self._eye_openness(rgb, np.asarray(meshes[0].points)) if self._eyes is not None else None
        return signals_from_mesh(meshes[0], time, w, h, cond, openness)

    def close(self) -> None:
        self._mesh.close()
        if self._eyes is not None:
            self._eyes.close()
