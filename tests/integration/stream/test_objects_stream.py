"""COCO object detectors as stream stages: people and vehicles on real frames, tiles for small
vehicles, and a `detector: centernet` camera file run through the composed pipeline."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from clearsight.errors import InputError
from clearsight.stream.config import CameraConfigError, load_camera, parse_camera
from clearsight.stream.detectors import create_stage_detector

from ...conftest import data_path

pytestmark = pytest.mark.integration

VEHICLES = {"car", "bus", "truck", "motorcycle", "bicycle"}
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "cameras" / "ngsim-highway.yaml"


def _ngsim(frame: int) -> tuple[np.ndarray, np.ndarray]:
    root = data_path("traffic", "ngsim_us101")
    rgb = cv2.cvtColor(cv2.imread(str(root / "frames" / f"{frame:06d}.jpg")), cv2.COLOR_BGR2RGB)
    with open(root / "gt.csv", newline="") as f:
        gt = [(float(r["x"]), float(r["y"]), float(r["x"]) + float(r["w"]), float(r["y"]) + float(r["h"]))
              for r in csv.DictReader(f) if int(r["frame"]) == frame]
    return rgb, np.array(gt)


def _found(obs, gt: np.ndarray) -> int:
    """Ground-truth vehicles matched by a detection at IoU >= 0.5 (greedy, one to one)."""
    used = np.zeros(len(gt), bool)
    for o in sorted(obs, key=lambda o: -o.score):
        b = np.array(o.box.as_xyxy())
        ix = np.clip(np.minimum(b[2], gt[:, 2]) - np.maximum(b[0], gt[:, 0]), 0, None)
        iy = np.clip(np.minimum(b[3], gt[:, 3]) - np.maximum(b[1], gt[:, 1]), 0, None)
        inter = ix * iy
        iou = inter / ((b[2] - b[0]) * (b[3] - b[1]) + (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1]) - inter)
        iou[used] = 0
        if iou.max() >= 0.5:
            used[int(iou.argmax())] = True
    return int(used.sum())


def test_centernet_tiles_find_small_vehicles_on_ngsim():
    rgb, gt = _ngsim(160)
    vehicles = ["bicycle", "car", "motorcycle", "bus", "truck"]
    whole = create_stage_detector("centernet", min_score=0.15, classes=vehicles)
    tiled = create_stage_detector("centernet", min_score=0.15, classes=vehicles, tiles=[2, 2])
    obs_whole, obs_tiled = whole.detect(rgb), tiled.detect(rgb)
    assert obs_tiled and {o.label for o in obs_tiled} <= VEHICLES
    # measured on this frame: whole frame 21 of the 33 vehicles, tiles 26 (of 32 boxes)
    found_tiled, found_whole = _found(obs_tiled, gt), _found(obs_whole, gt)
    assert found_tiled >= 0.7 * len(gt)
    assert found_tiled > found_whole
    assert found_tiled >= 0.75 * len(obs_tiled)  # few false or duplicate boxes (car/truck pairs merged)


def test_nanodet_stage_finds_people_on_vtest():
    from clearsight.io.video import open_source

    path = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
    if not path.exists():
        pytest.skip("vtest.avi (Debian opencv-doc) not installed")
    det = create_stage_detector("nanodet", min_score=0.3, classes=["person"])
    assert det.label == "person"
    for f in open_source(path):
        obs = det.detect(f.image)
        break
    assert len(obs) >= 3 and {o.label for o in obs} == {"person"}


def test_object_options_are_checked():
    with pytest.raises(CameraConfigError, match="unknown COCO class"):
        parse_camera({"name": "x", "source": "a.mp4", "detect": {"detector": "centernet", "options": {"classes": ["lorry"]}}})
    with pytest.raises(CameraConfigError, match="tiles"):
        parse_camera({"name": "x", "source": "a.mp4", "detect": {"detector": "nanodet", "options": {"tiles": [0, 2]}}})
    with pytest.raises(InputError, match="tile_size|its options"):
        create_stage_detector("centernet", tile_size=256)


def test_centernet_camera_file_runs_through_the_composed_pipeline():
    from clearsight.apps.compose import build_pipeline
    from clearsight.rules import MemorySink

    data_path("traffic", "ngsim_us101", "frames")
    cam = load_camera(EXAMPLE)
    assert cam.detect.detector == "centernet" and cam.detect.options["tiles"] == [2, 2]
    cam = cam.model_copy(update={"sinks": []})
    mem = MemorySink()
    pipe = build_pipeline(cam, extra_sinks=[(mem, "all")])
    try:
        s = pipe.run(max_frames=3)
    finally:
        pipe.close()
    starts = [e for e in mem.events if e.type == "track.start"]
    assert s.detections_run == 3 and len(starts) >= 15
    assert {e.data["label"] for e in starts} <= VEHICLES
