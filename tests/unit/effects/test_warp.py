"""The local warp engine on a coordinate image: moved points land where asked, and
nothing outside the touched rectangle moves."""

from __future__ import annotations

import numpy as np
import pytest

from clearsight.apps.effects.warp import PointMoves, inverse_field, remap_region

pytestmark = pytest.mark.unit


def _coords(h=240, w=320) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([xs, ys, np.zeros_like(xs)])


def test_moved_points_land_at_their_destination():
    moves = PointMoves()
    src = np.array([[150.0, 120.0], [170.0, 110.0]])
    moves.move(src, src + [[6.0, -4.0], [-5.0, 3.0]])
    moves.pin(np.array([[100.0, 100.0], [220.0, 140.0]]))
    out, box = remap_region(_coords(), moves, radius=40.0, step=2)
    assert box is not None
    for s, d in zip(src, src + [[6.0, -4.0], [-5.0, 3.0]]):
        got = out[int(d[1]), int(d[0]), :2]
        assert np.abs(got - s).max() < 0.6
    # pins stay put
    assert np.abs(out[100, 100, :2] - [100, 100]).max() < 0.6


def test_outside_the_touched_rectangle_nothing_changes_and_no_fold():
    img = _coords()
    moves = PointMoves()
    moves.move(np.array([[160.0, 120.0]]), np.array([[168.0, 120.0]]))
    out, (x0, y0, x1, y1) = remap_region(img, moves, radius=30.0, step=4)
    outside = np.ones(img.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(out[outside], img[outside])
    # the backward map is monotonic along x (no fold): source x increases with output x
    row = out[120, x0:x1, 0]
    assert np.all(np.diff(row) > 0)


def test_no_moves_is_identity():
    img = _coords()
    moves = PointMoves()
    moves.pin(np.array([[10.0, 10.0]]))
    assert inverse_field(moves, 20.0) is None
    out, box = remap_region(img, moves, 20.0)
    assert box is None and np.array_equal(out, img)
