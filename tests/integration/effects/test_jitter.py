"""Temporal stability: landmark and sticker jitter on a still face, with and without
One Euro smoothing, and that smoothing does not leave the face behind when it moves.

The still-face video is composed from a real photo: each frame gets fresh sensor
noise and JPEG compression, which is what makes a real still webcam face wobble.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from clearsight.apps.effects import stickers as st
from clearsight.apps.effects.pipeline import Perception
from clearsight.apps.effects import geometry as g

pytestmark = pytest.mark.integration

FPS = 30.0


def still_face_video(rgb: np.ndarray, n: int = 60, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        noisy = np.clip(rgb.astype(np.float32) + rng.normal(0, 4.0, rgb.shape), 0, 255).astype(np.uint8)
        ok, jpg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 85))])
        frames.append(cv2.imdecode(jpg, cv2.IMREAD_UNCHANGED))
    return frames


def jitter(frames: list[np.ndarray], smoothing: bool) -> tuple[float, float]:
    """(landmark jitter, sticker-corner jitter): mean per-point std over frames, in
    units of the eye span (so faces of any size compare)."""
    per = Perception(video=True, max_faces=1, smoothing=smoothing)
    glasses = st.load_manifest(st.BUILTIN_MANIFEST)["sunglasses"]
    pts, corners, spans = [], [], []
    for i, f in enumerate(frames):
        meshes = per.meshes(f, i / FPS)
        assert len(meshes) == 1
        m = meshes[0]
        pts.append(m[:, :2])
        spans.append(g.eye_span(m))
        corners.append(st.placement(glasses, m, g.face_frame(m, (f.shape[1], f.shape[0]))))
    per.close()
    span = float(np.mean(spans))
    skip = 10  # let the tracker and the filter settle
    lm = float(np.std(np.asarray(pts)[skip:], axis=0).mean()) / span
    sc = float(np.std(np.asarray(corners)[skip:], axis=0).mean()) / span
    return lm, sc


def test_smoothing_reduces_jitter_on_a_still_face(faces):
    for name, rgb in (faces[1], faces[6]):
        frames = still_face_video(rgb)
        raw_lm, raw_st = jitter(frames, smoothing=False)
        sm_lm, sm_st = jitter(frames, smoothing=True)
        assert raw_lm > 0  # the noise really makes the mesh wobble
        assert sm_lm < 0.6 * raw_lm, (name, raw_lm, sm_lm)
        assert sm_st < 0.6 * raw_st, (name, raw_st, sm_st)


def test_smoothing_follows_a_moving_face(faces):
    """The face jumps 8% of the frame width; the smoothed mesh must catch up within ~5 frames."""
    name, rgb = faces[1]
    h, w = rgb.shape[:2]
    shift = int(0.08 * w)
    moved = np.ascontiguousarray(np.roll(rgb, shift, axis=1))
    per = Perception(video=True, max_faces=1, smoothing=True)
    raw = Perception(video=True, max_faces=1, smoothing=False)
    seq = [rgb] * 15 + [moved] * 15
    sm_c, raw_c = [], []
    for i, f in enumerate(seq):
        sm_c.append(per.meshes(f, i / FPS)[0][:, 0].mean())
        raw_c.append(raw.meshes(f, i / FPS)[0][:, 0].mean())
    per.close()
    raw.close()
    target = raw_c[-1]
    assert abs(raw_c[-1] - raw_c[14] - shift) < 3
    assert abs(sm_c[15 + 5] - target) < 0.1 * shift
    assert abs(sm_c[-1] - target) < 1.0
