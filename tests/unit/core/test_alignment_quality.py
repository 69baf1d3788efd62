"""Alignment maths and quality checks, on synthetic geometry and a package-shipped photo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clearsight.types import BBox, Face, Landmarks
from clearsight.vision.alignment import ARCFACE_112, align, similarity_transform
from clearsight.vision.quality import assess_quality, pose_from_five

pytestmark = pytest.mark.unit


def test_similarity_transform_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    angle, scale, t = math.radians(23), 1.7, np.array([12.0, -4.0])
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    dst = (scale * rot @ src.T).T + t
    m = similarity_transform(src, dst)
    assert np.allclose(m[:, :2], scale * rot, atol=1e-9) and np.allclose(m[:, 2], t, atol=1e-9)


def test_similarity_transform_never_reflects():
    src = np.array([[0, 0], [10, 0], [5, 8], [2, 12], [8, 12]], float)
    mirrored = src * np.array([-1, 1])
    m = similarity_transform(src, mirrored)
    assert np.linalg.det(m[:, :2]) > 0


def test_degenerate_points_raise():
    with pytest.raises(ValueError):
        similarity_transform(np.ones((5, 2)), ARCFACE_112.points)


def test_align_puts_landmarks_on_the_template():
    # Draw dots at rotated/scaled template positions; after alignment they must sit on the template.
    img = np.zeros((400, 400, 3), np.uint8)
    angle, scale, t = math.radians(-15), 2.5, np.array([90.0, 60.0])
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    pts = (scale * rot @ ARCFACE_112.points.T).T + t
    for x, y in pts:
        img[int(round(y)) - 2 : int(round(y)) + 3, int(round(x)) - 2 : int(round(x)) + 3] = 255
    chip = align(img, pts, ARCFACE_112)
    assert chip.shape == (112, 112, 3)
    for x, y in ARCFACE_112.points:
        assert chip[int(round(y)), int(round(x))].max() > 100


def _frontal_face(scale: float = 1.0, roll_deg: float = 0.0) -> Face:
    pts = ARCFACE_112.points * scale
    c = pts.mean(axis=0)
    a = math.radians(roll_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    pts = (rot @ (pts - c).T).T + c + 100
    return Face(BBox(100, 100, 100 + 112 * scale, 100 + 112 * scale), 0.9, Landmarks(pts), "test")


def test_pose_from_five_points():
    p = pose_from_five(_frontal_face().landmarks.xy())
    assert abs(p.yaw) < 3 and abs(p.pitch) < 3 and abs(p.roll) < 1
    rolled = pose_from_five(_frontal_face(roll_deg=25).landmarks.xy())
    assert rolled.roll == pytest.approx(25, abs=0.5)
    turned = ARCFACE_112.points.copy()
    turned[2, 0] += 15  # nose shifted towards the image right: the head turned
    assert pose_from_five(turned).yaw > 20


def test_quality_names_every_failed_check():
    from skimage import data

    face_img = data.astronaut()
    good = _frontal_face(scale=1.5)
    ok = assess_quality(face_img, good)
    # astronaut's background at that spot is a sharp, mid-grey photo region
    assert "face_too_small" not in ok.reasons and "head_tilted" not in ok.reasons

    tiny = _frontal_face(scale=0.2)
    assert "face_too_small" in assess_quality(face_img, tiny).reasons

    dark = (face_img * 0.05).astype(np.uint8)
    assert "too_dark" in assess_quality(dark, good).reasons

    blurred = np.full_like(face_img, 128)
    rep = assess_quality(blurred, good)
    assert "blurry" in rep.reasons and not rep.passed and rep.score == 0.0

    tilted = _frontal_face(scale=1.5, roll_deg=45)
    assert "head_tilted" in assess_quality(face_img, tilted).reasons
