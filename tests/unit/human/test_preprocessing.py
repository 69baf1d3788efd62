"""Pre/post-processing maths of the human-models adapters against direct formulas."""

from __future__ import annotations

import numpy as np
import pytest

from clearsight.errors import InputError, UnknownBackendError
from clearsight.face.expression import EXPRESSIONS, Expression
from clearsight.types import BBox, Detection, Face, Landmarks
from clearsight.vision import objects
from clearsight.vision.faceres import crop_and_resize, square_box
from clearsight.vision.pose import KEYPOINT_NAMES, Pose

pytestmark = pytest.mark.unit


def _tf_bilinear(img, ys, xs):
    """TensorFlow's sampling rule written out (clamped neighbours, fractional weights)."""
    H, W = img.shape[:2]
    y0 = np.clip(np.floor(ys).astype(int), 0, H - 1)
    y1 = np.clip(y0 + 1, 0, H - 1)
    x0 = np.clip(np.floor(xs).astype(int), 0, W - 1)
    x1 = np.clip(x0 + 1, 0, W - 1)
    dy = (ys - np.floor(ys))[:, None, None]
    dx = (xs - np.floor(xs))[None, :, None]
    top = img[y0][:, x0] * (1 - dx) + img[y0][:, x1] * dx
    bot = img[y1][:, x0] * (1 - dx) + img[y1][:, x1] * dx
    return top * (1 - dy) + bot * dy


def test_tf_resize_is_tensorflows_legacy_bilinear():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (37, 53, 3)).astype(np.float32)
    got = objects.tf_resize(img, 20, 30)
    want = _tf_bilinear(img, np.arange(20) * 37 / 20, np.arange(30) * 53 / 30)
    np.testing.assert_allclose(got, want, atol=0.05)  # OpenCV's 5-bit fixed-point weights


def test_crop_and_resize_matches_tf_crop_and_resize():
    rng = np.random.default_rng(1)
    img = rng.uniform(0, 255, (60, 80, 3)).astype(np.float32)
    box = (-10, 5, 50, 65)  # partly outside: TF fills zeros
    got = crop_and_resize(img, box, 16)
    H, W = img.shape[:2]
    ys = box[1] / H * (H - 1) + np.arange(16) * ((box[3] - box[1]) / H * (H - 1) / 15)
    xs = box[0] / W * (W - 1) + np.arange(16) * ((box[2] - box[0]) / W * (W - 1) / 15)
    want = _tf_bilinear(img, ys, xs)
    want[:, (xs < 0) | (xs > W - 1)] = 0
    inside = (xs >= 0) & (xs <= W - 2)
    rows = (ys >= 0) & (ys <= H - 2)  # beyond the last pixel TF writes 0, OpenCV fades to 0 within 1 px
    np.testing.assert_allclose(got[rows][:, inside], want[rows][:, inside], atol=0.05)
    assert np.all(got[:, xs < -1] == 0)


def test_letterbox_maps_network_boxes_back_to_the_image():
    img = np.zeros((100, 200, 3), np.uint8)
    sq, lb = objects.fit_square(img, 416, letterbox=True)
    assert sq.shape == (416, 416, 3)
    # the image occupies rows 104..312 of the canvas
    back = lb.to_image(np.array([[0.0, 104.0, 416.0, 312.0]]))
    np.testing.assert_allclose(back, [[0, 0, 200, 100]], atol=0.5)
    _, st = objects.fit_square(img, 416, letterbox=False)
    np.testing.assert_allclose(st.to_image(np.array([[0.0, 0.0, 416.0, 416.0]])), [[0, 0, 200, 100]])


def test_nms_is_per_class():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10]], float)
    scores = np.array([0.9, 0.8, 0.7])
    keep = objects.nms_per_class(boxes, scores, np.array([0, 0, 1]), 0.5, 10)
    assert sorted(keep.tolist()) == [0, 2]


def test_count_uses_the_head_point_inside_the_mask():
    mask = np.zeros((100, 100), bool)
    mask[:50] = True
    inside = Detection(BBox(10, 20, 30, 90), 0.9, "person", 0)  # head at y=27
    outside = Detection(BBox(10, 60, 30, 99), 0.9, "person", 0)
    car = Detection(BBox(10, 0, 30, 10), 0.9, "car", 2)
    assert objects.count([inside, outside, car], mask=mask) == 1
    assert objects.count([inside, outside, car], mask=mask, anchor="foot") == 0
    assert objects.count([inside, outside, car]) == 2


def test_tiles_cover_the_frame_with_overlap():
    class Nothing:
        name = "none"

        def detect(self, rgb, classes=None):
            return []

    t = objects.TiledDetector(Nothing(), (2, 3), overlap=0.25)
    tiles = t.tiles(480, 640)
    assert len(tiles) == 6
    covered = np.zeros((480, 640), bool)
    for x1, y1, x2, y2 in tiles:
        covered[y1:y2, x1:x2] = True
    assert covered.all()
    assert t.detect(np.zeros((480, 640, 3), np.uint8)) == []


def test_named_classes_and_bad_input():
    assert objects.COCO_CLASSES[objects.PERSON] == "person"
    assert objects.COCO_CLASSES[objects.TRAFFIC_LIGHT] == "traffic light"
    assert set(objects.VEHICLES) <= set(objects.COCO_CLASSES)
    with pytest.raises(UnknownBackendError):
        objects.create_object_detector("yolo-from-the-internet")
    with pytest.raises(InputError):
        objects.check_rgb(np.zeros((10, 10), np.uint8))
    with pytest.raises(InputError):
        objects._class_filter(["unicorn"])
    assert {"nanodet", "centernet", "opencv-hog-people"} <= set(objects.available_object_detectors())


def test_square_box_grows_and_squares():
    f = Face(BBox(10, 20, 50, 100), 0.9, Landmarks(np.zeros((5, 2))), "test")
    x1, y1, x2, y2 = square_box(f, 1.4)
    assert x2 - x1 == y2 - y1 == 112
    assert (x1 + x2) / 2 == 30 and (y1 + y2) / 2 == 60


def test_expression_agitation_and_label():
    e = Expression(dict(zip(EXPRESSIONS, [0.3, 0.1, 0.1, 0.2, 0.1, 0.1, 0.1])))
    assert e.label == "angry"
    assert e.agitation == pytest.approx(0.5)


def test_pose_keypoints_are_readonly_and_named():
    p = Pose(BBox(0, 0, 10, 10), 0.8, np.arange(51, dtype=float).reshape(17, 3))
    assert p.point("nose") == (0.0, 1.0, 2.0)
    assert len(p.to_dict()["keypoints"]) == len(KEYPOINT_NAMES) == 17
    with pytest.raises(ValueError):
        p.keypoints[0, 0] = 5
