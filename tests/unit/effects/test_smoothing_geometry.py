"""One Euro filter behaviour and the head-pose maths on synthetic, exactly known inputs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from clearsight.apps.effects import geometry as g
from clearsight.apps.effects.smoothing import LandmarkSmoother, OneEuroFilter

pytestmark = pytest.mark.unit


def test_one_euro_reduces_noise_on_a_still_signal():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.01)
    raw = 100 + rng.normal(0, 1.0, size=300)
    out = np.array([f(np.array([x]), i / 30)[0] for i, x in enumerate(raw)])
    assert np.std(out[30:]) < 0.35 * np.std(raw[30:])
    assert abs(np.mean(out[30:]) - 100) < 0.3


def test_one_euro_follows_a_fast_move():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.3)
    sig = np.r_[np.zeros(30), np.linspace(0, 200, 10), np.full(20, 200.0)]
    out = np.array([f(np.array([x]), i / 30)[0] for i, x in enumerate(sig)])
    assert out[-1] > 195  # settles within 20 frames of the end of a 200 px move
    low = OneEuroFilter(min_cutoff=1.0, beta=0.0)  # a plain low-pass lags far more
    lag_plain = np.array([low(np.array([x]), i / 30)[0] for i, x in enumerate(sig)])
    assert abs(out[42] - 200) < abs(lag_plain[42] - 200)


def test_smoother_keeps_faces_apart():
    sm = LandmarkSmoother()
    a = np.zeros((478, 3), np.float32)
    a[:, 0] = np.linspace(0, 100, 478)
    a[263, 0], a[33, 0] = 80, 20
    b = a.copy()
    b[:, 0] += 500
    out1 = sm([a, b], 0.0)
    out2 = sm([b + 1, a + 1], 1 / 30)  # order swapped: each must follow its own track
    assert np.allclose(out1[0], a) and np.allclose(out1[1], b)
    assert np.abs(out2[0] - (b + 1)).max() < 1.0
    assert np.abs(out2[1] - (a + 1)).max() < 1.0


def _synthetic_mesh(yaw: float, pitch: float, roll: float, size=(1280, 720), dist_mm=600.0) -> np.ndarray:
    """Project the generic head with a known rotation into a 478-point array."""
    w, h = size
    focal = float(max(w, h))
    ry, rp, rr = np.radians([yaw, pitch, roll])
    # our axes: x image-right, y up, z towards the camera
    Ry = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0], [-np.sin(ry), 0, np.cos(ry)]])
    Rx = np.array([[1, 0, 0], [0, np.cos(rp), np.sin(rp)], [0, -np.sin(rp), np.cos(rp)]])
    Rz = np.array([[np.cos(rr), np.sin(rr), 0], [-np.sin(rr), np.cos(rr), 0], [0, 0, 1]])
    r = Ry @ Rx @ Rz  # yaw, then pitch, then roll in the face plane
    pts = g._MODEL_3D @ r.T
    z = dist_mm - pts[:, 2]
    u = w / 2 + focal * pts[:, 0] / z
    v = h / 2 - focal * pts[:, 1] / z
    mesh = np.zeros((478, 3), np.float32)
    for (x, y), idx in zip(np.stack([u, v], 1), g._MODEL_IDX):
        mesh[idx, :2] = (x, y)
    return mesh


@pytest.mark.parametrize("yaw,pitch,roll", [(0, 0, 0), (25, 0, 0), (-25, 0, 0), (0, 15, 0), (0, -15, 0), (0, 0, 20), (20, -10, -15)])
def test_head_pose_recovers_known_rotation(yaw, pitch, roll):
    mesh = _synthetic_mesh(yaw, pitch, roll)
    pose = g.face_frame(mesh, (1280, 720)).pose
    assert abs(pose.yaw - yaw) < 2.0
    assert abs(pose.pitch - pitch) < 2.0
    assert abs(pose.roll - roll) < 2.0


def test_face_frame_projects_model_points_back_onto_the_image():
    mesh = _synthetic_mesh(15, -8, 10)
    frame = g.face_frame(mesh, (1280, 720))
    proj = frame.project(g._MODEL_3D)
    target = mesh[list(g._MODEL_IDX), :2]
    assert np.abs(proj - target).max() < 1.0


def test_polygon_area_and_masks():
    sq = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], np.float32)
    assert g.polygon_area(sq) == pytest.approx(100.0)
    m = g.fill_mask((20, 20), [sq])
    assert 80 <= int((m > 127).sum()) <= 130
    with pytest.raises(Exception) as exc:
        g.anchor_point(np.zeros((478, 3)), "elbow")
    assert "unknown anchor" in str(exc.value)
    _ = cv2  # keep the import for readers: masks are OpenCV polygons
