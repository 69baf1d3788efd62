"""Object detection and pose on real photos, against ground truth where it exists.

Bounds come from bench/objects.py (TUD-Campus, all 71 frames, min score 0.3,
letterboxed: nanodet recall 0.71 / precision 0.66, centernet 0.75 / 0.58); the
test frames are a fixed subset, and the bounds sit below the measured values so a
regression, not noise, fails them.
"""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from clearsight.io import load_image
from clearsight.types import BBox
from tests.conftest import data_path

pytestmark = pytest.mark.integration


def _tud(n_frames: int = 12):
    root = data_path("tracking", "pedestrians", "tud_campus")
    gt = defaultdict(list)
    with open(root / "gt.csv") as fh:
        for r in csv.DictReader(fh):
            x, y, w, h = (float(r[k]) for k in ("bb_left", "bb_top", "bb_width", "bb_height"))
            gt[r["image"]].append(BBox(x, y, x + w, y + h))
    frames = sorted(gt)[:: max(1, len(gt) // n_frames)][:n_frames]
    return [(load_image(root / f), gt[f]) for f in frames]


def _match(dets, gts):
    used, tp = set(), 0
    for d in sorted(dets, key=lambda d: -d.score):
        cands = [(d.box.iou(g), i) for i, g in enumerate(gts) if i not in used]
        best = max(cands, default=(0, -1))
        if best[0] >= 0.5:
            used.add(best[1])
            tp += 1
    return tp


@pytest.mark.parametrize("name,min_recall,min_precision", [("nanodet", 0.5, 0.5), ("centernet", 0.4, 0.5)])
def test_people_on_tud_campus(built, name, min_recall, min_precision):
    from clearsight.vision.objects import create_object_detector

    det = create_object_detector(name, min_score=0.3)
    tp = n_det = n_gt = 0
    for rgb, gts in _tud():
        d = det.detect(rgb, classes=["person"])
        assert all(x.label == "person" for x in d)
        tp, n_det, n_gt = tp + _match(d, gts), n_det + len(d), n_gt + len(gts)
    assert tp / n_gt >= min_recall
    assert tp / n_det >= min_precision


def test_hog_floor_is_beaten_by_nanodet(built):
    from clearsight.vision.objects import create_object_detector

    frames = _tud(6)
    recall = {}
    for name in ("opencv-hog-people", "nanodet"):
        det = create_object_detector(name, min_score=0.3)
        recall[name] = sum(_match(det.detect(rgb), g) for rgb, g in frames) / sum(len(g) for _, g in frames)
    assert recall["nanodet"] > recall["opencv-hog-people"]


@pytest.mark.parametrize("name,at_least", [("nanodet", 3), ("centernet", 2)])
def test_people_in_selfie(built, name, at_least):
    from clearsight.vision.objects import create_object_detector

    rgb = load_image(data_path("faces", "deepface_pairs", "selfie-many-people.jpg"))
    people = create_object_detector(name, min_score=0.3).detect(rgb, classes=["person"])
    # 7 people, heavily overlapping and cut by the frame; measured at 0.3: nanodet
    # finds 3 distinct people, centernet 2 (both miss the cut-off faces at the edges)
    assert len(people) >= at_least
    assert all(0 <= p.box.x1 < p.box.x2 <= rgb.shape[1] and 0 <= p.box.y1 < p.box.y2 <= rgb.shape[0] for p in people)
    # no two boxes are the same person counted twice
    for i, a in enumerate(people):
        assert all(a.box.iou(b.box) < 0.6 for b in people[i + 1 :])


def test_measured_defaults(built):
    from clearsight.vision.objects import default_object_detector

    rgb, gts = _tud(1)[0]
    for purpose in ("detect", "count"):
        assert _match(default_object_detector(purpose).detect(rgb, classes=["person"]), gts) >= 2


def test_letterbox_and_tiles_keep_boxes_in_image_coordinates(built):
    from clearsight.vision.objects import TiledDetector, create_object_detector

    rgb, gts = _tud(1)[0]
    for det in (create_object_detector("nanodet", letterbox=False), TiledDetector(create_object_detector("nanodet"), (2, 2))):
        d = det.detect(rgb, classes=["person"])
        assert _match(d, gts) >= 2, det.name


def test_pose_finds_the_pedestrians(built):
    from clearsight.vision.pose import create_pose_estimator

    est = create_pose_estimator("movenet-multipose")
    rgb, gts = _tud(1)[0]
    poses = est.estimate(rgb)
    assert 2 <= len(poses) <= 6
    # each confident pose overlaps a ground-truth person, and its nose is above its ankles
    for p in poses[:2]:
        assert max(p.box.iou(g) for g in gts) > 0.3
        nose, ankle = p.point("nose"), p.point("left_ankle")
        if nose[2] > 0.3 and ankle[2] > 0.3:
            assert nose[1] < ankle[1]
