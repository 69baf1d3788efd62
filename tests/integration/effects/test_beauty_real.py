"""Beautification on real faces: strengths mean what they say, measured twice:
exactly (where the warp sends the mesh's own points) and independently (re-running
the face mesh on the result); nothing outside the effect's region changes; no folds."""

from __future__ import annotations

import types

import numpy as np
import pytest

from clearsight.apps.effects import geometry as g
from clearsight.apps.effects.beauty import MAX_NOSE_LENGTHEN, MAX_SLIM, Beauty, warp_face

from .conftest import coords_image, forward_points, load_faces, mesh_of

pytestmark = pytest.mark.integration


def _ctx(mesh):
    return types.SimpleNamespace(meshes=[mesh])


@pytest.mark.parametrize("s", [0.4, 1.0])
def test_eye_area_grows_by_s_exactly_under_the_warp(faces, static_mesh, s):
    for name, rgb in faces:
        mesh = mesh_of(static_mesh, rgb)
        cw, _ = warp_face(coords_image(rgb.shape), mesh, {"eye_enlarge": s})
        for contour in (g.RIGHT_EYE, g.LEFT_EYE):
            before = g.xy(mesh)[list(contour)]
            after = forward_points(cw, before)
            ratio = g.polygon_area(after) / g.polygon_area(before)
            assert ratio == pytest.approx(1 + s, rel=0.04), name


def test_eye_area_remeasured_by_the_mesh_grows_with_s(faces, static_mesh):
    """The mesh is an independent judge but has a strong shape prior: it reports
    roughly half of the applied change. We require a clear, monotonic growth."""
    ratios = {0.4: [], 1.0: []}
    for name, rgb in faces:
        mesh = mesh_of(static_mesh, rgb)
        a0 = np.array(g.eye_areas(mesh))
        for s in ratios:
            out = Beauty({"eye_enlarge": s}).apply(rgb, _ctx(mesh))
            ratios[s].append(np.array(g.eye_areas(mesh_of(static_mesh, out))) / a0)
    m04, m10 = float(np.mean(ratios[0.4])), float(np.mean(ratios[1.0]))
    assert 1 + 0.3 * 0.4 <= m04 <= 1 + 1.2 * 0.4
    assert 1 + 0.3 * 1.0 <= m10 <= 1 + 1.2 * 1.0
    assert m10 > m04 + 0.1


@pytest.mark.parametrize("s", [0.5, 1.0])
def test_face_slim_narrows_the_jaw_as_requested(faces, static_mesh, s):
    remeasured = []
    for name, rgb in faces:
        mesh = mesh_of(static_mesh, rgb)
        cw, _ = warp_face(coords_image(rgb.shape), mesh, {"face_slim": s})
        p = g.xy(mesh)
        moved = mesh.copy()
        idx = [58, 288, 172, 397, 136, 365, 150, 379]
        moved[idx, :2] = forward_points(cw, p[idx])
        exact = g.jaw_width(moved) / g.jaw_width(mesh)
        # jaw points move MAX_SLIM * s of their offset from the midline (the pairs are
        # near-symmetric, so the width follows within a small margin)
        assert exact == pytest.approx(1 - MAX_SLIM * s, abs=0.02), name
        out = Beauty({"face_slim": s}).apply(rgb, _ctx(mesh))
        remeasured.append(g.jaw_width(mesh_of(static_mesh, out)) / g.jaw_width(mesh))
    # independent check: the mesh sees a narrower jaw on every face
    assert max(remeasured) < 1.0
    assert np.mean(remeasured) < 1 - 0.25 * MAX_SLIM * s


def test_pixels_outside_the_effect_region_do_not_change(faces, static_mesh):
    for name, rgb in faces[:4]:
        mesh = mesh_of(static_mesh, rgb)
        span = g.eye_span(mesh)
        out, box = warp_face(rgb, mesh, {"eye_enlarge": 0.6})
        x0, y0, x1, y1 = box
        diff = np.abs(out.astype(int) - rgb).max(axis=2)
        outside = np.ones(diff.shape, bool)
        outside[y0:y1, x0:x1] = False
        assert diff[outside].max() == 0, name
        # inside the rectangle, far (> kernel radius) from both eyes: at most rounding noise
        ys, xs = np.mgrid[0 : rgb.shape[0], 0 : rgb.shape[1]]
        far = np.ones(diff.shape, bool)
        for contour in (g.RIGHT_EYE, g.LEFT_EYE):
            c = g.xy(mesh)[list(contour)].mean(axis=0)
            far &= np.hypot(xs - c[0], ys - c[1]) > 0.45 * span + 0.6 * span
        assert np.percentile(diff[far], 99.5) <= 2, name
        # skin tone: only inside the face oval (feathered edge allowed)
        out2 = Beauty({"smooth_skin": 1.0, "brighten": 1.0}).apply(rgb, _ctx(mesh))
        oval = g.face_mask(rgb.shape[:2], mesh) > 0
        import cv2

        feather = int(0.1 * span) | 1  # the skin mask's soft edge
        grown = cv2.dilate(oval.astype(np.uint8), np.ones((2 * feather + 1, 2 * feather + 1), np.uint8)) > 0
        d2 = np.abs(out2.astype(int) - rgb).max(axis=2)
        assert d2[~grown].max() == 0, name
        assert d2[oval].mean() > 3, name  # and it does something inside


def test_all_warps_at_full_strength_do_not_fold(faces, static_mesh):
    full = {"eye_enlarge": 1.0, "face_slim": 1.0, "nose_narrow": 1.0, "nose_lengthen": 1.0, "chin": 1.0}
    for name, rgb in faces:
        mesh = mesh_of(static_mesh, rgb)
        cw, box = warp_face(coords_image(rgb.shape), mesh, full)
        x0, y0, x1, y1 = box
        sx, sy = cw[y0:y1, x0:x1, 0], cw[y0:y1, x0:x1, 1]
        dxx, dxy = np.gradient(sx, axis=1), np.gradient(sx, axis=0)
        dyx, dyy = np.gradient(sy, axis=1), np.gradient(sy, axis=0)
        jac = dxx * dyy - dxy * dyx
        assert jac.min() > 0.2, name  # orientation preserved: no tearing or mirrored folds


def test_skin_smoothing_keeps_eyes_and_lips_sharp(faces, static_mesh):
    import cv2

    name, rgb = faces[0]
    mesh = mesh_of(static_mesh, rgb)
    out = Beauty({"smooth_skin": 1.0}).apply(rgb, _ctx(mesh))
    feats = g.fill_mask(rgb.shape[:2], [g.xy(mesh)[list(i)] for i in (g.RIGHT_EYE, g.LEFT_EYE, g.LIPS_OUTER)]) > 0
    feats = cv2.erode(feats.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    skin = g.skin_mask(rgb.shape[:2], mesh) > 0.9

    def lap(img):
        return np.abs(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.CV_32F))

    l0, l1 = lap(rgb), lap(out)
    assert l1[feats].mean() > 0.9 * l0[feats].mean()  # features keep their detail
    assert l1[skin].mean() < 0.8 * l0[skin].mean()  # skin is smoother


# Frontal faces of three people: obama (large, smiling) and two small neutral faces,
# the cases where the mesh's prior pulls a longer nose back the most.
NOSE_PHOTOS = ("face_recognition_examples/examples/obama.jpg", "deepface_pairs/img12.jpg", "deepface_pairs/img14.jpg")


@pytest.fixture(scope="module")
def nose_faces():
    return load_faces(NOSE_PHOTOS)


def _nose_length(p: np.ndarray) -> float:
    """Between the eyes (168) to below the tip (2)."""
    return float(np.linalg.norm(p[168] - p[2]))


def _pupil_distance(p: np.ndarray) -> float:
    return float(np.linalg.norm(p[468] - p[473]))


def test_longer_nose_is_seen_by_the_mesh_and_the_eyes_stay(nose_faces, static_mesh):
    """Issue 19/15: the face mesh re-run on the output must see a clearly longer nose
    (>= 8% at full strength), half strength must do less, and the eye region must
    not move. The mesh's own jitter (1 px shift of the input) is ~1.5% on these
    lengths, ~1% of the eye span on 168."""
    for name, rgb in nose_faces:
        mesh = mesh_of(static_mesh, rgb)
        p = g.xy(mesh)
        span = g.eye_span(p)
        growth = {}
        for s in (0.5, 1.0):
            q = g.xy(mesh_of(static_mesh, Beauty({"nose_lengthen": s}).apply(rgb, _ctx(mesh))))
            growth[s] = _nose_length(q) / _nose_length(p) - 1.0
            assert _pupil_distance(q) / _pupil_distance(p) == pytest.approx(1.0, abs=0.025), (name, s)
            assert g.eye_span(q) / span == pytest.approx(1.0, abs=0.025), (name, s)
            # the mesh re-places 168 a little lower on a longer nose; the warp itself
            # does not move it (next test)
            assert np.linalg.norm(q[168] - p[168]) <= 0.03 * span, (name, s)
        assert growth[1.0] >= 0.08, (name, growth)
        assert 0.03 <= growth[0.5] <= growth[1.0] - 0.02, (name, growth)


@pytest.mark.parametrize("s", [0.5, 1.0])
def test_nose_lengthen_stretches_the_nose_and_nothing_above_or_around_it(nose_faces, static_mesh, s):
    """Exactly, under the warp: 168->2 grows by MAX_NOSE_LENGTHEN * s, the eyes, brows,
    168 and the chin do not move, the mouth keeps its shape, and the map neither folds
    nor tears anywhere around the nostrils and lip."""
    for name, rgb in nose_faces:
        mesh = mesh_of(static_mesh, rgb)
        p = g.xy(mesh)
        span = g.eye_span(p)
        cw, box = warp_face(coords_image(rgb.shape), mesh, {"nose_lengthen": s})
        still = list(g.RIGHT_EYE + g.LEFT_EYE + g.RIGHT_BROW + g.LEFT_BROW) + [168, g.CHIN_TIP]
        moved = forward_points(cw, p[still], search=int(0.2 * span)) - p[still]
        assert np.abs(moved).max() <= 0.01 * span, name
        ends = forward_points(cw, p[[168, 2]], search=int(0.4 * span))
        growth = float(np.linalg.norm(ends[1] - ends[0])) / _nose_length(p) - 1.0
        assert growth == pytest.approx(MAX_NOSE_LENGTHEN * s, abs=0.02), name
        mouth = forward_points(cw, p[[61, 291, 0, 17]], search=int(0.4 * span))
        width, height = (np.linalg.norm(mouth[1] - mouth[0]), np.linalg.norm(mouth[3] - mouth[2]))
        assert width == pytest.approx(np.linalg.norm(p[291] - p[61]), rel=0.03), name
        assert height == pytest.approx(np.linalg.norm(p[17] - p[0]), rel=0.03), name
        x0, y0, x1, y1 = box
        sx, sy = cw[y0:y1, x0:x1, 0], cw[y0:y1, x0:x1, 1]
        jac = np.gradient(sx, axis=1) * np.gradient(sy, axis=0) - np.gradient(sx, axis=0) * np.gradient(sy, axis=1)
        # area ratio source/output: > 0 is no fold; bounded both ways is no tear or pinch
        assert 0.5 < jac.min() and jac.max() < 2.0, (name, float(jac.min()), float(jac.max()))
