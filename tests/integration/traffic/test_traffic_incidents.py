"""Traffic incidents on composed video (real car and pedestrian photos over a real empty road, scripted paths on a
known ground plane), through the real pipeline: centernet -> ByteTrack -> the `traffic` analyser. Every incident
fires within 0.5 s of its scripted time, speeds are within 10%, counts are per class (issue 14, part 3)."""

from __future__ import annotations

import pytest

from . import scenes

pytestmark = pytest.mark.integration

FPS = 8.0
TOLERANCE_S = 0.5


def _first(events, etype):
    hits = [e for e in events if e.type == etype]
    assert hits, f"no {etype}; got {sorted({e.type for e in events})}"
    return hits


def test_incidents_fire_on_time_with_true_speeds_and_counts_per_class(traffic_material):
    m = traffic_material
    scene = scenes.incidents_scene(m.road, m.cars, m.people, fps=FPS)
    arrow = scenes.image_polygon(scene.calibration, [(10, 5.5), (36, 5.5)])
    camera = scenes.camera_file(scene, count_interval_s=4.0, zones={
        "eastbound": {"direction": arrow, "speed_limit_kmh": 50},
        "no-stopping": {"stopped_after_s": 3},
        "road": {"roadway": True},
    })
    events, _ = scenes.run_scene(scene.frames(), camera, fps=FPS, detector=m.detector)
    truth = {etype: t for etype, _, t in scene.truth if etype != "traffic.crossing"}
    truth["vehicle.stopped"] += 3.0  # the zone's stopped_after_s
    truth["pedestrian.in_roadway"] += 0.5  # the default pedestrian_min_s
    for etype, t_true in truth.items():
        hits = _first(events, etype)
        assert len(hits) == 1, (etype, [(e.time, e.track_ids) for e in hits])  # once per track and stay
        assert abs(hits[0].time - t_true) <= TOLERANCE_S, (etype, hits[0].time, t_true)
    assert _first(events, "vehicle.stopped")[0].data["zone"] == "no-stopping"
    assert _first(events, "pedestrian.in_roadway")[0].data["class"] == "person"
    speeding = _first(events, "vehicle.speeding")[0]
    wrong = _first(events, "vehicle.wrong_way")[0]
    assert speeding.track_ids != wrong.track_ids
    # speeds over the ground, per track, from the calibration: within 10% of the script
    speeds = {e.track_ids[0]: e.data["median_kmh"] for e in events if e.type == "vehicle.speed"}
    assert speeds[speeding.track_ids[0]] == pytest.approx(scene.speeds_kmh[0], rel=0.10)
    assert speeds[wrong.track_ids[0]] == pytest.approx(scene.speeds_kmh[1], rel=0.10)
    # both moving cars cross the counting line, one each way, on time; the stopped car never reaches it;
    # the pedestrian crosses the crosswalk line, counted as a person
    crossings = sorted((e for e in events if e.type == "traffic.crossing"), key=lambda e: e.time)
    assert [(e.data["line"], e.data["class"]) for e in crossings] == [("count", "car"), ("count", "car"),
                                                                      ("crosswalk", "person")]
    assert sorted(e.data["direction"] for e in crossings[:2]) == ["left_to_right", "right_to_left"]
    cross_truth = sorted(t for etype, _, t in scene.truth if etype == "traffic.crossing")
    for e, t_true in zip(crossings, cross_truth):
        assert abs(e.time - t_true) <= TOLERANCE_S, (e.data, e.time, t_true)
    count = next(e for e in _first(events, "traffic.count") if e.data["line"] == "count")
    assert count.data["line"] == "count" and count.data["total"] == 2
    assert count.data["counts"] == {"car": 2}
    assert count.data["by_direction"] == {"left_to_right": {"car": 1}, "right_to_left": {"car": 1}}


def test_a_queue_is_congestion_on_time_by_occupancy_and_by_speed(traffic_material):
    """Three cars queue: `approach` is congested by occupancy (3 vehicles), `road` by speed (the vehicles in it
    average 5 km/h or less); the truth of both comes from the scripted positions and speeds."""
    m = traffic_material
    scene = scenes.queue_scene(m.road, m.cars, fps=5.0)
    by_count = {"min_vehicles": 3, "hold_s": 2.0}
    by_speed = {"max_speed_kmh": 5.0, "min_vehicles_for_speed": 2, "hold_s": 1.0}
    camera = scenes.camera_file(scene, zones={"approach": {"congestion": by_count}, "road": {"congestion": by_speed}})
    events, _ = scenes.run_scene(scene.frames(), camera, fps=5.0, detector=m.detector)
    for zone, ground, rule in (("approach", scenes.QUEUE_ZONE, by_count), ("road", scenes.ROADWAY, by_speed)):
        start = [e for e in events if e.type == "traffic.congestion" and e.data["zone"] == zone]
        assert len(start) == 1 and start[0].data["state"] == "start", [(e.time, e.data) for e in start]
        t_true = scenes.congestion_truth(scene, ground, **rule)
        assert t_true is not None
        assert abs(start[0].time - t_true) <= TOLERANCE_S, (zone, start[0].time, t_true)
    assert next(e for e in events if e.type == "traffic.congestion").data["occupancy"] >= 2
