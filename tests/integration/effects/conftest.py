"""Real faces and a real mesh for the effects' integration tests."""

from __future__ import annotations

import numpy as np
import pytest

from clearsight.io import load_image

from ...conftest import data_path

# Frontal-ish, open-eyed faces of different sizes and people (deepface's set) plus
# obama at 720p; a spread of yaw/roll for the sticker tests.
FACES = ["deepface_pairs/img1.jpg", "deepface_pairs/img10.jpg", "deepface_pairs/img11.jpg", "deepface_pairs/img12.jpg",
         "deepface_pairs/img14.jpg", "deepface_pairs/img17.jpg", "face_recognition_examples/examples/obama-720p.jpg"]


@pytest.fixture(scope="session")
def static_mesh():
    from clearsight.vision.landmarks import FaceMesh

    fm = FaceMesh(max_faces=4, static=True)
    yield fm
    fm.close()


def load_faces(rels) -> list:  # noqa: ANN001
    """[(name, rgb)] of real face photos under faces/, downscaled to at most 900 px."""
    import cv2

    out = []
    for rel in rels:
        rgb = load_image(data_path("faces", *rel.split("/")))
        s = min(1.0, 900 / max(rgb.shape[:2]))
        if s < 1.0:
            rgb = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        out.append((rel, np.ascontiguousarray(rgb)))
    return out


@pytest.fixture(scope="session")
def faces():
    """[(name, rgb)] of real face photos, downscaled so the face spans <= ~200 px of eye span."""
    return load_faces(FACES)


def mesh_of(fm, rgb) -> np.ndarray:
    found = fm.process(rgb)
    assert found, "no face mesh found"
    return max((m.points for m in found), key=lambda p: np.ptp(p[:, 0]))


def coords_image(shape) -> np.ndarray:
    """An image whose pixels hold their own (x, y): warping it shows where every pixel came from."""
    h, w = shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([xs, ys, np.zeros_like(xs)])


def forward_points(coord_warped: np.ndarray, pts: np.ndarray, search: int = 12) -> np.ndarray:
    """Where each source point ended up: the output pixel whose source is nearest to it."""
    out = []
    h, w = coord_warped.shape[:2]
    for x, y in pts:
        x0, x1 = max(0, int(x) - search), min(w, int(x) + search + 1)
        y0, y1 = max(0, int(y) - search), min(h, int(y) + search + 1)
        win = coord_warped[y0:y1, x0:x1, :2]
        d = np.hypot(win[..., 0] - x, win[..., 1] - y)
        iy, ix = np.unravel_index(np.argmin(d), d.shape)
        # sub-pixel: correct by the residual (the map is locally ~identity-scaled)
        out.append([x0 + ix + (x - win[iy, ix, 0]), y0 + iy + (y - win[iy, ix, 1])])
    return np.asarray(out)
