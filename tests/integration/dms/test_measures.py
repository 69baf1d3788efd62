"""Eye state on real eye close-ups, yawns on real in-car frames, the CLI end to end."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from clearsight.apps.dms.eyestate import CLOSED_BELOW, EyeContourModel, eye_crop
from clearsight.settings import DmsSettings
from clearsight.apps.dms.signals import SignalExtractor
from clearsight.errors import InputError
from clearsight.io import load_image
from tests.conftest import data_path

pytestmark = pytest.mark.integration


def _labels(task):
    root = data_path("dms", "drowsiness_yawn_eyes")
    with open(root / "labels.csv") as fh:
        return [(root / r["image"], r["label"]) for r in csv.DictReader(fh) if r["task"] == task]


def test_eye_state_on_eye_crops():
    model = EyeContourModel()
    rows = _labels("eye_state")[::3]  # a third of the 292 crops keeps the test short
    correct = [(model.openness(load_image(p), both_orientations=True) < CLOSED_BELOW) == (lab == "closed") for p, lab in rows]
    assert len(rows) > 90 and np.mean(correct) >= 0.95


def test_eye_model_refuses_a_non_rgb_crop():
    with pytest.raises(InputError):
        EyeContourModel().contour(np.zeros((64, 64), np.uint8))


def test_yawn_frames_by_mouth_opening():
    ex = SignalExtractor(static=True, eye_model=False)
    thr = DmsSettings().yawn_open
    rows = _labels("yawn")[::2]
    correct = []
    for p, lab in rows:
        s = ex.extract(load_image(p), 0.0)
        assert s.face_present, p
        correct.append((s.mouth_opening >= thr) == (lab == "yawn"))
    assert np.mean(correct) >= 0.9


def test_pose_and_gaze_separate_road_from_side_window():
    root = data_path("dms", "drowsiness_yawn_eyes")
    ex = SignalExtractor(static=True)
    road = ex.extract(load_image(root / "yawn/no_yawn/2476.jpg"), 0.0)
    away = ex.extract(load_image(root / "yawn/no_yawn/2484.jpg"), 0.0)  # same driver, head turned to the window
    assert abs(road.pose.yaw) < 20 and away.pose.yaw - road.pose.yaw > 30
    assert away.gaze[0] - road.gaze[0] > 30
    # the crop the eye model sees is the eye: it reads the road frame's eyes as open
    pts = np.asarray(road.mesh.points)
    assert EyeContourModel().openness(eye_crop(load_image(root / "yawn/no_yawn/2476.jpg"), pts[33], pts[133])) > CLOSED_BELOW


def test_cli_on_a_composed_video(tmp_path):
    from clearsight.apps.dms.scenarios import FrameBank, Scenario, write_video

    bank = FrameBank.from_dataset(data_path("dms", "drowsiness_yawn_eyes"))
    video = write_video(bank, Scenario("cli", (("road", 6.0), ("closed", 1.6), ("road", 1.0))), 15, tmp_path / "in.mp4")
    out, events = tmp_path / "out.mp4", tmp_path / "ev.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "clearsight.cli", "dms", "--input", str(video), "--output", str(out), "--events", str(events)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    recs = [json.loads(line) for line in events.read_text().splitlines()]
    assert [(r["type"], r["data"]["level"]) for r in recs] == [("dms.microsleep", "microsleep")]
    assert 7.0 <= recs[0]["time"] <= 7.0 + 0.1 + 1 / 15
    assert out.stat().st_size > 10_000


def test_cli_missing_file_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "clearsight.cli", "dms", "--input", str(tmp_path / "nope.mp4")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not found" in proc.stderr


def test_events_carry_a_snapshot_when_asked():
    from clearsight.apps.dms.monitor import DriverMonitor
    from clearsight.apps.dms.scenarios import FrameBank, Scenario

    bank = FrameBank.from_dataset(data_path("dms", "drowsiness_yawn_eyes"))
    sc = Scenario("snap", (("road", 6.0), ("blocked", 2.4)))
    with DriverMonitor(snapshots=True, camera="cab-1") as mon:
        events = [e for rgb, t, _ in bank.frames_of(sc, 15) for e in mon.feed(rgb, t).events]
    assert [(e.type, e.camera, e.data["reason"]) for e in events] == [("dms.absent", "cab-1", "camera_blocked")]
    assert events[0].snapshot_jpeg[:2] == b"\xff\xd8"
