"""Face geometry from the 478-point mesh: named regions, masks, head pose and a
face-attached coordinate frame that stickers and warps are expressed in.

Everything is derived from mesh indices, so an effect never needs a second model
and a sticker's anchor means the same thing on every face and pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...types import HeadPose, Landmarks

# MediaPipe face-mesh topology (indices into the 468 mesh points; 468..477 iris).
# "right"/"left" are the subject's: the subject's right eye is on the image left.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
RIGHT_EYE = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
LEFT_EYE = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
LIPS_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
RIGHT_IRIS = (468, 469, 470, 471, 472)
LEFT_IRIS = (473, 474, 475, 476, 477)
# Nose: the wings (alae) move for narrowing; NOSE (all of it) for lengthening.
NOSE_RIGHT_WING = (48, 64, 98, 129, 102, 219, 235)
NOSE_LEFT_WING = (278, 294, 327, 358, 331, 439, 455)
NOSE_TIP = (1, 4, 2, 19, 94, 44, 274, 45, 275)
NOSE_BRIDGE = (6, 168, 197, 195, 5)
# The whole nose below the brow line (bridge, side walls, tip, columella, nostrils,
# alae): lengthening stretches all of it along the face axis. Moving only the tip
# leaves the nostrils and wings behind, which reads as a droop, not a longer nose.
NOSE = (
    6, 197, 195, 5, 4, 1, 19, 94, 2,  # midline below 168
    122, 351, 188, 412, 245, 465, 128, 357, 114, 343, 196, 419, 174, 399, 3, 248, 236, 456,  # side walls
    217, 437, 198, 420, 131, 360, 134, 363, 51, 281, 209, 429, 49, 279, 45, 275, 220, 440,
    115, 344, 44, 274, 125, 354, 141, 370, 241, 461, 242, 462,  # tip and columella
    129, 358, 102, 331, 48, 278, 64, 294, 219, 439, 218, 438, 237, 457, 235, 455, 98, 327,  # alae
    79, 309, 238, 458, 239, 459, 20, 250, 60, 290, 99, 328, 97, 326, 240, 460, 75, 305, 166, 392,  # nostrils
)
# Lower face contour used for slimming (cheekbone level down to the chin), each side.
JAW_RIGHT = (234, 93, 132, 58, 172, 136, 150, 149, 176, 148)
JAW_LEFT = (454, 323, 361, 288, 397, 365, 379, 378, 400, 377)
CHIN = (152, 148, 377, 176, 400, 149, 378)
FOREHEAD = 10
CHIN_TIP = 152
NOSE_TIP_POINT = 1

# Named anchors for stickers and measurements: a point = mean of these indices.
ANCHORS: dict[str, tuple[int, ...]] = {
    "eyes": (33, 133, 263, 362),
    "right_eye": RIGHT_EYE,
    "left_eye": LEFT_EYE,
    "nose_tip": (NOSE_TIP_POINT,),
    "nose_bridge": (168,),
    "forehead": (FOREHEAD,),
    "mouth": (13, 14, 61, 291),
    "chin": (CHIN_TIP,),
    "head_top": (FOREHEAD,),
}

# A generic head (millimetres, x to the subject's left as seen in the image = image
# right, y up, z towards the camera); the classic six points solvePnP needs.
_MODEL_3D = np.array(
    [
        (0.0, 0.0, 0.0),  # nose tip (1)
        (0.0, -63.6, -12.5),  # chin (152)
        (-43.3, 32.7, -26.0),  # right eye outer corner (33), image left
        (43.3, 32.7, -26.0),  # left eye outer corner (263), image right
        (-28.9, -28.9, -24.1),  # right mouth corner (61)
        (28.9, -28.9, -24.1),  # left mouth corner (291)
    ],
    dtype=np.float64,
)
_MODEL_IDX = (1, 152, 33, 263, 61, 291)
# Model eye-corner distance in mm: the unit that converts model mm to pixels.
MODEL_EYE_SPAN = 86.6


def xy(mesh: Landmarks | np.ndarray) -> np.ndarray:
    pts = mesh.points if isinstance(mesh, Landmarks) else np.asarray(mesh)
    return np.asarray(pts[:, :2], dtype=np.float32)


def anchor_point(mesh: Landmarks | np.ndarray, name: str) -> np.ndarray:
    """The pixel position of a named anchor (or of a single mesh index given as "idx:N")."""
    p = xy(mesh)
    if name.startswith("idx:"):
        return p[int(name[4:])].astype(np.float32)
    if name not in ANCHORS:
        from .errors import EffectConfigError

        raise EffectConfigError(f"unknown anchor {name!r}; known: {', '.join(sorted(ANCHORS))} or idx:N")
    return p[list(ANCHORS[name])].mean(axis=0).astype(np.float32)


def polygon_area(points: np.ndarray) -> float:
    """Shoelace area of a closed polygon in pixels²."""
    x, y = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def eye_areas(mesh: Landmarks | np.ndarray) -> tuple[float, float]:
    """(right, left) eye-opening areas from the eyelid contours."""
    p = xy(mesh)
    return polygon_area(p[list(RIGHT_EYE)]), polygon_area(p[list(LEFT_EYE)])


def jaw_width(mesh: Landmarks | np.ndarray) -> float:
    """Lower-face width: mean distance between mirrored jaw points (gonion to mid-jaw)."""
    p = xy(mesh)
    pairs = [(58, 288), (172, 397), (136, 365), (150, 379)]
    return float(np.mean([np.linalg.norm(p[a] - p[b]) for a, b in pairs]))


def eye_span(mesh: Landmarks | np.ndarray) -> float:
    """Outer-eye-corner distance: the face's scale, invariant to every beauty warp we do."""
    p = xy(mesh)
    return float(np.linalg.norm(p[263] - p[33]))


def region_polygon(mesh: Landmarks | np.ndarray, indices: tuple[int, ...]) -> np.ndarray:
    return xy(mesh)[list(indices)]


def fill_mask(shape: tuple[int, int], polygons: list[np.ndarray], value: int = 255, mask: np.ndarray | None = None) -> np.ndarray:
    m = np.zeros(shape, np.uint8) if mask is None else mask
    cv2.fillPoly(m, [np.round(p).astype(np.int32) for p in polygons], value, lineType=cv2.LINE_AA)
    return m


def face_mask(shape: tuple[int, int], mesh: Landmarks | np.ndarray) -> np.ndarray:
    """The face oval (forehead to chin) as a uint8 mask."""
    return fill_mask(shape, [region_polygon(mesh, FACE_OVAL)])


def skin_mask(shape: tuple[int, int], mesh: Landmarks | np.ndarray, feather: float | None = None) -> np.ndarray:
    """Face oval minus eyes, brows and lips (grown a little), feathered; float32 0..1.

    Excluding the features keeps lashes, brow hairs and lip lines sharp while
    skin is smoothed: smoothing them is what makes filters look plastic.
    """
    p = xy(mesh)
    scale = eye_span(p)
    m = face_mask(shape, p)
    grow = max(1, int(round(0.05 * scale)))
    holes = fill_mask(shape, [p[list(i)] for i in (RIGHT_EYE, LEFT_EYE, RIGHT_BROW, LEFT_BROW, LIPS_OUTER)])
    holes = cv2.dilate(holes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    m = cv2.subtract(m, holes)
    # Pull the edge in slightly so hair and background at the oval's rim stay crisp.
    m = cv2.erode(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow + 1, grow + 1)))
    f = feather if feather is not None else 0.04 * scale
    k = max(3, int(round(f * 3)) | 1)
    return cv2.GaussianBlur(m, (k, k), f).astype(np.float32) / 255.0


@dataclass(frozen=True)
class FaceFrame:
    """Where a face is and how it is turned: rotation (3x3, model->camera), the pixel
    position of the model origin (nose tip), and the scale in pixels per model mm.

    Stickers place their corners in model millimetres and project them through
    this frame, so they follow yaw, pitch, roll and distance together.
    """

    rotation: np.ndarray
    origin: np.ndarray
    scale: float
    focal: float
    pose: HeadPose

    def project(self, model_points: np.ndarray) -> np.ndarray:
        """Model-mm points (N,3) -> pixels (N,2), with perspective from the camera focal."""
        pts = np.asarray(model_points, dtype=np.float64)
        cam = pts @ self.rotation.T  # model axes -> camera axes (x right, y up, z to camera)
        s = self.scale
        # Depth of the head ~ focal / scale mm; nearer points grow (z towards camera).
        depth = self.focal / max(s, 1e-6)
        persp = depth / np.maximum(depth - cam[:, 2], 1e-3)
        u = self.origin[0] + s * cam[:, 0] * persp
        v = self.origin[1] - s * cam[:, 1] * persp
        return np.stack([u, v], axis=1).astype(np.float32)


def _rotation_to_pose(r: np.ndarray) -> HeadPose:
    """Angles of r = R_yaw @ R_pitch @ R_roll (roll in the face's own plane first).

    Columns of r are the head's axes in camera axes (x right, y up, z towards the
    camera); the third column is where the face points.
    """
    yaw = float(np.arctan2(r[0, 2], r[2, 2]))
    pitch = float(np.arcsin(np.clip(r[1, 2], -1.0, 1.0)))
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    r_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    r_pitch = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
    r_roll = (r_yaw @ r_pitch).T @ r
    roll = float(np.arctan2(-r_roll[1, 0], r_roll[0, 0]))
    return HeadPose(yaw=float(np.degrees(yaw)), pitch=float(np.degrees(pitch)), roll=float(np.degrees(roll)))


def face_frame(mesh: Landmarks | np.ndarray, image_size: tuple[int, int]) -> FaceFrame:
    """Head pose by solvePnP of six mesh points against a generic head model.

    `image_size` is (width, height); the camera is assumed to have a ~60° horizontal
    field of view (focal = width), which is what webcams and phones roughly have.
    """
    p = xy(mesh).astype(np.float64)
    w, h = image_size
    focal = float(max(w, h))
    cam = np.array([[focal, 0, w / 2.0], [0, focal, h / 2.0], [0, 0, 1]], dtype=np.float64)
    img_pts = p[list(_MODEL_IDX)]
    # OpenCV's camera has y down and z away from the camera: flip the model's y and z.
    flip = np.diag([1.0, -1.0, -1.0])
    obj = _MODEL_3D @ flip.T
    ok, rvec, tvec = cv2.solvePnP(obj, img_pts, cam, None, flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        rvec, tvec = np.zeros(3), np.zeros(3)
    r_cv, _ = cv2.Rodrigues(rvec)
    # model(y up, z out) -> cv model -> cv camera -> our camera (y up, z towards camera)
    r = flip @ r_cv @ flip
    # pixels per model mm at the nose tip's depth
    tz = float(np.ravel(tvec)[2])
    depth = tz if ok and tz > 1.0 else focal * MODEL_EYE_SPAN / max(eye_span(p), 1.0)
    scale = focal / depth
    return FaceFrame(rotation=r, origin=p[NOSE_TIP_POINT].astype(np.float32), scale=float(scale), focal=focal, pose=_rotation_to_pose(r))


def head_pose(mesh: Landmarks | np.ndarray, image_size: tuple[int, int]) -> HeadPose:
    return face_frame(mesh, image_size).pose
