"""Camera YAML validation; zones and lines; the ByteTrack adapter on exact synthetic boxes."""

from __future__ import annotations

import pytest

from clearsight.stream.config import CameraConfigError, LineConfig, ZoneConfig, load_camera, parse_camera
from clearsight.stream.detectors import Observation
from clearsight.stream.tracking import Tracker
from clearsight.stream.zones import GeometryMonitor, build_geometry
from clearsight.types import BBox

pytestmark = pytest.mark.unit


def test_valid_camera_file_resolves_relative_paths(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"")
    (tmp_path / "cam.yaml").write_text(
        "name: lobby\nsource: clip.mp4\ndetect: {every_n: 2}\n"
        "zones: [{name: door, polygon: [[0.5, 0], [1, 0], [1, 1]], normalized: true, dwell_s: 3}]\n"
        "rules: [{name: r, when: {type: zone.dwell}, actions: [out]}]\n"
        "sinks: [{type: jsonl, name: out, path: events.jsonl}]\n"
    )
    cfg = load_camera(tmp_path / "cam.yaml")
    assert cfg.source == str(tmp_path / "clip.mp4") and cfg.detect.every_n == 2
    assert cfg.sinks[0].path == str(tmp_path / "events.jsonl")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"source": "x"}, "name: Field required"),
        ({"name": "bad name!", "source": "x"}, "camera name"),
        ({"name": "c", "source": "x", "detect": {"every_n": 0}}, "detect.every_n"),
        ({"name": "c", "source": "x", "zones": [{"name": "z", "polygon": [[0, 0], [1, 1]]}]}, "zones.0.polygon"),
        ({"name": "c", "source": "x", "zones": [{"name": "z", "polygon": [[0, 0], [2, 0], [1, 1]], "normalized": True}]}, "within 0..1"),
        ({"name": "c", "source": "x", "lines": [{"name": "l", "points": [[1, 1], [1, 1]]}]}, "two distinct points"),
        ({"name": "c", "source": "x", "rules": [{"name": "r", "when": {"type": "a"}, "actions": ["nowhere"]}]}, "unknown sink"),
        ({"name": "c", "source": "x", "sinks": [{"type": "webhook", "url": "a"}, {"type": "webhook", "url": "b"}]}, "sink names must be unique"),
        ({"name": "c", "source": "x", "detec": {}}, "detec: Extra inputs"),
    ],
)
def test_invalid_camera_configs_name_the_field(data, message):
    with pytest.raises(CameraConfigError, match=message):
        parse_camera(data)


def test_unreadable_and_non_yaml_files(tmp_path):
    with pytest.raises(CameraConfigError, match="cannot read"):
        load_camera(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("name: [unclosed")
    with pytest.raises(CameraConfigError, match="not valid YAML"):
        load_camera(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(CameraConfigError, match="mapping"):
        load_camera(tmp_path / "list.yaml")


def _walk(monitor, tid, xs, y=50, t0=0.0, dt=1.0, size=10):
    out = []
    for i, x in enumerate(xs):
        box = BBox(x - size / 2, y - size / 2, x + size / 2, y + size / 2)
        out += [(t0 + i * dt, e, d) for e, d in monitor.update(tid, box, t0 + i * dt)]
    return out


def test_zone_enter_dwell_exit_and_line_cross_with_normalised_coordinates():
    zones, lines = build_geometry(
        [ZoneConfig(name="right", polygon=[(0.5, 0), (1, 0), (1, 1), (0.5, 1)], normalized=True, dwell_s=2.5)],
        [LineConfig(name="gate", points=[(0.25, 0), (0.25, 1)], normalized=True)],
        width=200, height=100,
    )
    mon = GeometryMonitor(zones, lines)
    evs = _walk(mon, 7, [10, 40, 70, 110, 130, 150, 170, 190, 90])
    kinds = [(t, e) for t, e, _ in evs]
    assert (2.0, "line.cross") in kinds  # x=40 (t=1) -> 70 (t=2) passes x=50
    assert (3.0, "zone.enter") in kinds  # first point with x >= 100
    assert (6.0, "zone.dwell") in kinds  # 3 s after entering (>= 2.5 s), once
    assert [e for _, e in kinds].count("zone.dwell") == 1
    exit_ = [d for t, e, d in evs if e == "zone.exit"]
    assert exit_ == [{"zone": "right", "duration_s": 5.0, "reason": "left"}]
    cross = [d for _, e, d in evs if e == "line.cross"][0]
    assert cross["direction"] in ("left_to_right", "right_to_left")
    back = _walk(mon, 7, [90, 20], t0=10)
    assert [d["direction"] for _, e, d in back if e == "line.cross"] == [
        "right_to_left" if cross["direction"] == "left_to_right" else "left_to_right"
    ]


def test_line_crossing_outside_the_segment_does_not_count():
    zones, lines = build_geometry([], [LineConfig(name="short", points=[(100, 0), (100, 30)])], 200, 100)
    mon = GeometryMonitor(zones, lines)
    assert _walk(mon, 1, [50, 150], y=80) == []  # passes x=100 below the segment's end


def test_track_lost_closes_the_zone_stay():
    zones, lines = build_geometry([ZoneConfig(name="all", polygon=[(0, 0), (200, 0), (200, 100), (0, 100)])], [], 200, 100)
    mon = GeometryMonitor(zones, lines)
    _walk(mon, 3, [10, 20])
    assert mon.occupancy() == {"all": 1}
    assert mon.end_track(3, 5.0) == [("zone.exit", {"zone": "all", "duration_s": 5.0, "reason": "track_lost"})]
    assert mon.occupancy() == {"all": 0}


def test_bytetrack_keeps_identities_through_crossing_and_reports_ends():
    trk = Tracker(fps=10)
    ids_a, ids_b = set(), set()
    for i in range(30):
        a = BBox(10 + 5 * i, 20, 40 + 5 * i, 50)  # moving right
        b = BBox(200 - 5 * i, 60, 230 - 5 * i, 90)  # moving left, different row
        obs = [Observation(a, 0.9, "face"), Observation(b, 0.9, "face")]
        for tr in trk.update(obs, i / 10):
            (ids_a if tr.obs is obs[0] else ids_b).add(tr.track_id)
    assert len(ids_a) == 1 and len(ids_b) == 1 and ids_a != ids_b
    assert trk.ended(3.0) == []
    for i in range(30, 45):
        trk.update([], i / 10)
    assert sorted(trk.ended(4.5)) == sorted(ids_a | ids_b)
    assert trk.ended(4.6) == []  # reported once
