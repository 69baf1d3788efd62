"""Body reshaping and background on a real street frame (TUD-Campus): the person
gets slimmer or fuller as asked, re-measured by the segmentation model, while the
background never bends; background blur/replacement keeps the person intact."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from clearsight.apps.effects.background import Background
from clearsight.apps.effects.body import Body
from clearsight.apps.effects.pipeline import FrameContext, Perception
from clearsight.io import load_image

from ...conftest import data_path

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def street():
    return load_image(data_path("tracking", "pedestrians", "tud_campus", "frames", "000001.jpg"))


@pytest.fixture(scope="module")
def perception():
    p = Perception(video=False)
    yield p
    p.close()


def _waist_width(per: Perception, img: np.ndarray) -> float:
    """Person width across the torso at the waist, from fresh pose + segmentation."""
    pose, mask = per.pose(img), per.segment(img)
    assert pose is not None
    top, hip = (pose[11, :2] + pose[12, :2]) / 2, (pose[23, :2] + pose[24, :2]) / 2
    c = top + 0.7 * (hip - top)
    axis = (hip - top) / np.linalg.norm(hip - top)
    n = np.array([-axis[1], axis[0]])
    ts = np.arange(-60, 60, 0.5)
    pts = (c + ts[:, None] * n).astype(np.float32)
    vals = cv2.remap(mask, pts[:, :1], pts[:, 1:], cv2.INTER_LINEAR)[:, 0] > 0.5
    mid = len(ts) // 2
    lo = hi = mid
    while lo > 0 and vals[lo - 1]:
        lo -= 1
    while hi < len(ts) - 1 and vals[hi + 1]:
        hi += 1
    return float(ts[hi] - ts[lo])


def _run(effect, per, img):
    ctx = FrameContext(t=0.0, size=(img.shape[1], img.shape[0]), perception=per, frame=img)
    out = effect.apply(img, ctx)
    return out, ctx


def test_waist_gets_slimmer_and_fuller_as_asked(street, perception):
    w0 = _waist_width(perception, street)
    slim, _ = _run(Body({"waist": -1.0}), perception, street)
    full, _ = _run(Body({"waist": 1.0}), perception, street)
    ws, wf = _waist_width(perception, slim), _waist_width(perception, full)
    assert ws < 0.88 * w0, (w0, ws)  # asked: -25%
    assert wf > 1.1 * w0, (w0, wf)  # asked: +25%


@pytest.mark.parametrize("v", [-1.0, 1.0])
def test_background_stays_straight(street, perception, v):
    mask0 = perception.segment(street)
    out, ctx = _run(Body({"waist": v, "legs": v, "arms": v}), perception, street)
    assert np.abs(out.astype(int) - street).max() > 50  # the person really changed
    person = (mask0 > 0.05) | (ctx.person_mask > 0.05)
    bg = ~(cv2.dilate(person.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
    diff = np.abs(out.astype(int) - street).max(axis=2)
    assert bg.mean() > 0.5 and diff[bg].max() <= 2


def test_no_person_no_change(perception):
    sky = np.full((240, 320, 3), (120, 160, 220), np.uint8)
    out, _ = _run(Body({"waist": -1.0}), perception, sky)
    assert np.array_equal(out, sky)


def test_background_blur_and_replacement_keep_the_person(faces, perception):
    name, rgb = faces[6]  # obama-720p: a person in front of a window
    mask = perception.segment(rgb)
    person, bg = mask > 0.98, mask < 0.02
    assert person.mean() > 0.1 and bg.mean() > 0.1
    for effect in (Background("blur", 1.0), Background("color", color="#00ff00")):
        out, _ = _run(effect, perception, rgb)
        d = np.abs(out.astype(int) - rgb).max(axis=2)
        inner = cv2.erode(person.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        assert np.percentile(d[inner], 99) <= 3, effect.mode
        assert d[bg].mean() > 8, effect.mode
    out, _ = _run(Background("color", color="#00ff00"), perception, rgb)
    far = cv2.erode(bg.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    assert np.abs(out[far].astype(int) - (0, 255, 0)).max() <= 3
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    blurred, _ = _run(Background("blur", 1.0), perception, rgb)
    g2 = cv2.cvtColor(blurred, cv2.COLOR_RGB2GRAY)
    lap = lambda g: np.abs(cv2.Laplacian(g, cv2.CV_32F))  # noqa: E731
    assert lap(g2)[far].mean() < 0.5 * lap(gray)[far].mean()
