"""Class-aware tracking with the class vote on a real clip (NGSIM highway frames, tiled centernet)."""

from __future__ import annotations

from collections import Counter

import cv2
import pytest

from clearsight.stream.config import TrackConfig
from clearsight.stream.detectors import create_stage_detector
from clearsight.stream.tracking import Tracker, class_group

from ...conftest import data_path

pytestmark = pytest.mark.integration


def test_vehicle_tracks_keep_one_class_group_and_vote_their_class():
    root = data_path("traffic", "ngsim_us101", "frames")
    det = create_stage_detector("centernet", min_score=0.15, tiles=[2, 2], classes=["car", "bus", "truck", "motorcycle"])
    # thresholds at the detector's score range (small vehicles score 0.15-0.5; the defaults suit 0.5+)
    trk = Tracker(TrackConfig(activation_threshold=0.15, high_conf_threshold=0.25), fps=3)
    seen: dict[int, list[str]] = {}
    voted: dict[int, str] = {}
    for i, path in enumerate(sorted(root.glob("*.jpg"))[:6]):
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        for tr in trk.update(det.detect(rgb), i / 3):
            seen.setdefault(tr.track_id, []).append(tr.obs.label)
            voted[tr.track_id] = tr.label
    long_tracks = [t for t, labels in seen.items() if len(labels) >= 4]
    assert len(long_tracks) >= 5  # vehicles followed over several frames
    for tid, labels in seen.items():
        assert len({class_group(lab) for lab in labels}) == 1  # never switches class group
        counts = Counter(labels)
        # the reported class is a most frequent label among the frames the track has been seen in
        assert counts[voted[tid]] == max(counts.values())
        assert trk.label(tid) == voted[tid]
