"""Face quality: is this face good enough to enrol or to trust a match on?

A gallery is only as good as its worst template: a blurred, dark or profile
enrolment both misses its owner and matches strangers. Each check is a named
reason so a user can be told what to fix ("move closer", "face the camera").
The score is a soft product of the checks, for ranking a track's best frames.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..config import get_settings
from ..settings import FaceSettings
from ..types import Face, HeadPose, QualityReport

# Depth of the nose tip in front of the eye plane, in interocular distances: turns
# the nose's sideways shift into a yaw angle (anthropometric average, ~0.6).
_NOSE_DEPTH = 0.6
# Frontal ratio (eye line -> nose) / (eye line -> mouth) in the ArcFace template.
_FRONTAL_NOSE_RATIO = (71.74 - 51.6) / (92.29 - 51.6)


def pose_from_five(points: np.ndarray) -> HeadPose:
    """Approximate head pose from 5 landmarks (eyes, nose, mouth corners).

    Roll is exact (the eye line); yaw and pitch are geometric estimates good to
    ~10 degrees, enough for a quality gate. The face mesh gives a full solvePnP
    pose where precision matters (driver monitoring, effects).
    """
    p = np.asarray(points, dtype=np.float64)[:, :2]
    le, re, nose = p[0], p[1], p[2]
    mouth = (p[3] + p[4]) / 2
    eye_vec = re - le
    iod = float(np.linalg.norm(eye_vec))
    if iod < 1e-6:
        return HeadPose(0.0, 0.0, 0.0)
    ux = eye_vec / iod
    uy = np.array([-ux[1], ux[0]])
    roll = math.degrees(math.atan2(eye_vec[1], eye_vec[0]))
    mid = (le + re) / 2
    r = float(np.dot(nose - mid, ux)) / iod
    yaw = math.degrees(math.atan(r / _NOSE_DEPTH))
    em = float(np.dot(mouth - mid, uy))
    en = float(np.dot(nose - mid, uy))
    pitch = 0.0
    if em > 1e-6:
        pitch = math.degrees(math.atan((_FRONTAL_NOSE_RATIO - en / em) * 2.5))
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll)


def _sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian on a fixed-size crop: comparable across face sizes."""
    g = cv2.resize(gray, (112, 112), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(g, cv2.CV_64F).var())


def _ramp(value: float, bad: float, good: float) -> float:
    if good == bad:
        return 1.0
    return float(min(1.0, max(0.0, (value - bad) / (good - bad))))


def assess_quality(rgb: np.ndarray, face: Face, settings: FaceSettings | None = None) -> QualityReport:
    s = settings or get_settings().face
    h, w = rgb.shape[:2]
    box = face.box.clip(w, h)
    x1, y1, x2, y2 = (int(round(v)) for v in box.as_xyxy())
    crop = rgb[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)]
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.size else np.zeros((1, 1), np.uint8)
    # the central part avoids background and hair
    ch, cw = gray.shape
    core = gray[ch // 5 : max(ch // 5 + 1, 4 * ch // 5), cw // 5 : max(cw // 5 + 1, 4 * cw // 5)]
    brightness = float(core.mean()) if core.size else 0.0
    sharpness = _sharpness(gray) if gray.size > 4 else 0.0
    face_size = float(min(face.box.width, face.box.height))
    pose = pose_from_five(face.landmarks.xy())

    reasons: list[str] = []
    if face_size < s.min_face_size:
        reasons.append("face_too_small")
    if sharpness < s.min_sharpness:
        reasons.append("blurry")
    if brightness < s.min_brightness:
        reasons.append("too_dark")
    if brightness > s.max_brightness:
        reasons.append("too_bright")
    if abs(pose.yaw) > s.max_abs_yaw:
        reasons.append("turned_sideways")
    if abs(pose.pitch) > s.max_abs_pitch:
        reasons.append("tilted_up_or_down")
    if abs(pose.roll) > s.max_abs_roll:
        reasons.append("head_tilted")
    if face.score < s.min_detection_score:
        reasons.append("low_detection_score")

    score = (
        _ramp(face_size, s.min_face_size * 0.5, s.min_face_size * 2)
        * _ramp(sharpness, s.min_sharpness * 0.5, s.min_sharpness * 4)
        * _ramp(brightness, s.min_brightness * 0.5, s.min_brightness * 1.5)
        * _ramp(255 - brightness, (255 - s.max_brightness) * 0.5, (255 - s.max_brightness) * 1.5)
        * _ramp(-abs(pose.yaw), -s.max_abs_yaw * 1.5, -s.max_abs_yaw * 0.3)
        * _ramp(-abs(pose.pitch), -s.max_abs_pitch * 1.5, -s.max_abs_pitch * 0.3)
        * _ramp(-abs(pose.roll), -s.max_abs_roll * 1.5, -s.max_abs_roll * 0.3)
        * min(1.0, max(0.0, face.score))
    )
    return QualityReport(
        score=score,
        passed=not reasons,
        reasons=tuple(reasons),
        face_size=face_size,
        sharpness=sharpness,
        brightness=brightness,
        pose=pose,
    )


# ---------------------------------------------------------------- the verify gate
# An ID document's portrait is small (a 35 x 45 mm photo scanned or photographed:
# 40-60 px of face), printed, screened and JPEG-compressed. The everyday gate would
# call nearly every one "blurry" or "too small"; the ID-photo gate accepts what a
# document can give and no less: below `ID_PHOTO_MIN_FACE` pixels the embedder's
# 150-px chip is mostly interpolation (bench/identify.py, ID-portrait table).
ID_PHOTO_MIN_FACE = 32.0
ID_PHOTO_MIN_SHARPNESS = 2.0


def id_photo_settings(settings: FaceSettings | None = None) -> FaceSettings:
    """The face settings of the ID-photo gate: smaller and softer faces than a selfie."""
    s = settings or get_settings().face
    return s.model_copy(update={"min_face_size": min(s.min_face_size, ID_PHOTO_MIN_FACE),
                                "min_sharpness": min(s.min_sharpness, ID_PHOTO_MIN_SHARPNESS)})


def gate_reasons(report: QualityReport, settings: FaceSettings | None = None) -> tuple[str, ...]:
    """The failed checks of a measured face against `settings` (the everyday or the ID-photo
    gate), so one assessment can be judged by either without measuring again."""
    s = settings or get_settings().face
    checks = (
        ("face_too_small", report.face_size < s.min_face_size),
        ("blurry", report.sharpness < s.min_sharpness),
        ("too_dark", report.brightness < s.min_brightness),
        ("too_bright", report.brightness > s.max_brightness),
        ("turned_sideways", abs(report.pose.yaw) > s.max_abs_yaw),
        ("tilted_up_or_down", abs(report.pose.pitch) > s.max_abs_pitch),
        ("head_tilted", abs(report.pose.roll) > s.max_abs_roll),
        ("low_detection_score", "low_detection_score" in report.reasons),
    )
    return tuple(name for name, failed in checks if failed)
