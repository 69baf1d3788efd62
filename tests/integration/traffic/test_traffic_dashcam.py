"""Forward-collision warning on composed dash-camera video: a real car photo ahead of a moving camera, its image
size scripted from its distance. The warning fires within 0.5 s of the moment the true time to collision crosses
the threshold, and never for a lead car at constant distance (issue 14, part 5)."""

from __future__ import annotations

import pytest

from . import scenes

pytestmark = pytest.mark.integration


def _dash_camera() -> dict:
    return {"name": "dash", "source": "drive.mp4",
            "detect": {"detector": "centernet", "min_score": 0.3},
            "track": {"lost_s": 1.0, "activation_threshold": 0.3, "high_conf_threshold": 0.45},
            "output": {"face_seen": "off", "snapshots": False},
            "analysers": {"forward_collision": {"ttc_warning_s": 2.0}}}


def test_warning_fires_when_time_to_collision_crosses_the_threshold(traffic_material):
    m = traffic_material
    scene, t_cross = scenes.approach_scene(scenes.dash_road(m.road), m.cars[1], z0=18.0, hold=1.0, ttc_threshold=2.0,
                                           fps=8.0)
    events, _ = scenes.run_scene(scene.frames(), _dash_camera(), fps=scene.fps, detector=m.detector)
    fcw = [e for e in events if e.type == "vehicle.forward_collision"]
    assert len(fcw) == 1, [(e.time, e.data) for e in fcw]
    assert abs(fcw[0].time - t_cross) <= 0.5, (fcw[0].time, t_cross)
    assert fcw[0].data["ttc_s"] <= 2.0 and fcw[0].data["class"] in ("car", "truck")


def test_no_warning_for_a_lead_car_at_constant_distance(traffic_material):
    m = traffic_material
    scene = scenes.constant_distance_scene(scenes.dash_road(m.road), m.cars[1], z=8.0, seconds=4.0, fps=5.0)
    events, pipe = scenes.run_scene(scene.frames(), _dash_camera(), fps=scene.fps, detector=m.detector)
    assert pipe.summary.tracks >= 1  # the lead car was seen and tracked the whole time
    assert not [e for e in events if e.type == "vehicle.forward_collision"]
