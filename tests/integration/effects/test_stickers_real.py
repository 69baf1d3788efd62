"""Stickers on real faces: the art's anchor point lands on the mesh anchor across
poses (yaw from the photos, roll by rotating them), several faces at once, and
`behind_face` art is hidden by the face."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from clearsight.apps.effects import geometry as g
from clearsight.apps.effects import stickers as st
from clearsight.apps.effects.pipeline import build

from ...conftest import data_path
from .conftest import mesh_of

pytestmark = pytest.mark.integration


@pytest.fixture()
def marker_manifest(tmp_path):
    """A user sticker: a small pure-red disc whose centre is the art's anchor point."""
    art = np.zeros((64, 64, 4), np.uint8)
    cv2.circle(art, (32, 32), 30, (0, 0, 255, 255), -1, cv2.LINE_AA)
    cv2.imwrite(str(tmp_path / "marker.png"), art)
    entries = {
        "nose_marker": {"file": "marker.png", "anchor": "nose_tip", "size_mm": [7, 7]},
        "brow_marker": {"file": "marker.png", "anchor": "nose_bridge", "size_mm": [7, 7]},
    }
    (tmp_path / "m.json").write_text(json.dumps({"stickers": entries}))
    st.load_manifest.cache_clear()
    return str(tmp_path / "m.json")


def _red_blobs(before: np.ndarray, after: np.ndarray) -> list[np.ndarray]:
    d = np.abs(after.astype(int) - before).max(axis=2) > 40
    red = (after[..., 0] > 150) & (after[..., 1] < 90) & (after[..., 2] < 90)
    n, lab, stats, cent = cv2.connectedComponentsWithStats((d & red).astype(np.uint8))
    return [cent[i] for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 6]


def _rotate(rgb, deg):
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def test_stickers_land_on_their_anchors_across_poses(faces, static_mesh, marker_manifest):
    errors, yaws, rolls = [], [], []
    for name, rgb in faces:
        for roll in (0, -25, 25):
            img = np.ascontiguousarray(_rotate(rgb, roll)) if roll else rgb
            mesh = mesh_of(static_mesh, img)
            pose = g.face_frame(mesh, (img.shape[1], img.shape[0])).pose
            yaws.append(pose.yaw)
            rolls.append(pose.roll)
            for sticker, anchor in (("nose_marker", "nose_tip"), ("brow_marker", "nose_bridge")):
                fx = build("none", {"stickers": sticker}, video=False, sticker_manifest=marker_manifest)
                out = fx.apply(img, t=0.0)
                fx.close()
                blobs = _red_blobs(img, out)
                assert len(blobs) == 1, (name, roll, sticker)
                # independent: re-run the mesh on the output (the marker is tiny)
                again = g.anchor_point(mesh_of(static_mesh, out), anchor)
                errors.append(float(np.hypot(*(blobs[0] - again))))
                assert np.hypot(*(blobs[0] - g.anchor_point(mesh, anchor))) < 1.5, (name, roll, sticker)
    assert max(errors) < 4.0, errors
    # the set really spans poses
    assert np.ptp(rolls) > 40 and np.ptp(yaws) > 8


def test_several_faces_at_once(static_mesh, marker_manifest):
    rgb = cv2.imread(str(data_path("faces", "deepface_pairs", "couple.jpg")))[..., ::-1]
    rgb = np.ascontiguousarray(cv2.resize(rgb, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
    fx = build("none", {"stickers": "nose_marker"}, video=False, sticker_manifest=marker_manifest)
    out = fx.apply(rgb, t=0.0)
    fx.close()
    blobs = _red_blobs(rgb, out)
    meshes = [m.points for m in static_mesh.process(rgb)]
    assert len(meshes) == 2 and len(blobs) == 2
    for m in meshes:
        a = g.anchor_point(m, "nose_tip")
        assert min(np.hypot(*(b - a)) for b in blobs) < 2.0


def test_behind_face_art_is_hidden_by_the_face(faces, static_mesh, tmp_path):
    name, rgb = faces[1]
    mesh = mesh_of(static_mesh, rgb)
    oval = g.face_mask(rgb.shape[:2], mesh) > 0
    inner = cv2.erode(oval.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    # a big opaque card centred on the nose: in front it covers the face, behind it frames it
    cv2.imwrite(str(tmp_path / "card.png"), np.full((50, 50, 4), (255, 0, 0, 255), np.uint8))
    entry = {"file": "card.png", "anchor": "nose_tip", "size_mm": [260, 300], "offset_mm": [0, 0, -80]}
    manifest = tmp_path / "cards.json"
    manifest.write_text(json.dumps({"stickers": {"front": {**entry, "layer": "front"}, "behind": {**entry, "layer": "behind_face"}}}))
    st.load_manifest.cache_clear()
    diffs = {}
    for layer in ("front", "behind"):
        fx = build("none", {"stickers": layer}, video=False, sticker_manifest=str(manifest))
        diffs[layer] = np.abs(fx.apply(rgb, t=0.0).astype(int) - rgb).max(axis=2)
        fx.close()
    assert (diffs["front"][inner] > 40).mean() > 0.95  # in front: the face is covered
    assert diffs["behind"][inner].max() <= 2  # behind: the face shows through untouched
    ring = cv2.dilate(oval.astype(np.uint8), np.ones((41, 41), np.uint8)) > 0
    ring &= ~cv2.dilate(oval.astype(np.uint8), np.ones((21, 21), np.uint8)).astype(bool)
    assert (diffs["behind"][ring] > 40).mean() > 0.9  # ... and the card is there around it
    # the built-in bunny ears are behind-face art too: never drawn over the face
    fx = build("bunny", video=False)
    d = np.abs(fx.apply(rgb, t=0.0).astype(int) - rgb).max(axis=2)
    fx.close()
    assert d.max() > 100 and d[inner].max() <= 2


def test_sunglasses_animate_over_time(faces, static_mesh):
    name, rgb = faces[0]
    fx = build("party", {"stickers": "sunglasses"}, video=False)
    frames = [fx.apply(rgb, t=t) for t in np.arange(0.0, 1.0, 0.1)]
    fx.close()
    distinct = {f.tobytes() for f in frames}
    assert len(distinct) >= 3
