"""Class-aware tracking: association within a class group, the track's class by majority vote."""

from __future__ import annotations

from clearsight.stream.config import TrackConfig
from clearsight.stream.detectors import Observation
from clearsight.stream.tracking import Tracked, Tracker
from clearsight.types import BBox


def _obs(x: float, label: str, score: float = 0.9, y: float = 100.0) -> Observation:
    return Observation(BBox(x, y, x + 40, y + 30), score, label)


def test_a_car_truck_flip_keeps_one_track_and_the_majority_class():
    trk = Tracker(TrackConfig(), fps=10)
    labels = ["car", "car", "truck", "car", "truck", "car", "car"]
    ids, voted = set(), []
    for i, lab in enumerate(labels):
        out = trk.update([_obs(100 + 3 * i, lab)], i / 10)
        if i == 0:
            continue  # ByteTrack reports a track from its second frame on
        assert len(out) == 1
        ids.add(out[0].track_id)
        voted.append(out[0].label)
        assert out[0].obs.label == lab  # the frame's own label is kept
    assert len(ids) == 1
    tid = ids.pop()
    assert voted[-1] == "car" and trk.label(tid) == "car"
    assert trk.ended(10.0) == [tid] and trk.label(tid) == "car"  # the final vote outlives the track once


def test_a_person_never_continues_a_vehicle_track():
    trk = Tracker(TrackConfig(), fps=10)
    # a car and, in the next frames, a person box exactly where the car was (occlusion, crossing)
    trk.update([_obs(97, "car")], 0.0)
    first = trk.update([_obs(100, "car")], 0.05)
    later = trk.update([_obs(101, "person")], 0.1) + trk.update([_obs(102, "person"), _obs(300, "car")], 0.2)
    person_ids = {t.track_id for t in later if t.label == "person"}
    assert person_ids and first[0].track_id not in person_ids
    assert all(t.label == t.obs.label == "person" for t in later if t.track_id in person_ids)


def test_without_class_awareness_one_track_spans_classes():
    trk = Tracker(TrackConfig(class_aware=False), fps=10)
    trk.update([_obs(99, "car")], 0.0)
    a = trk.update([_obs(100, "car")], 0.1)
    b = trk.update([_obs(101, "person")], 0.2)
    assert a[0].track_id == b[0].track_id


def test_tracked_label_defaults_to_the_observation():
    assert Tracked(3, _obs(0, "bus")).label == "bus"
