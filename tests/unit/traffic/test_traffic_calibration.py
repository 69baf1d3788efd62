"""Ground-plane calibration (issue 14, part 3): the homography maps its points exactly, a known distance gives
its scale, and bad points are refused with a message that names the problem; the traffic sections of a camera
file are checked when the file is validated; time to collision from box growth on an exact approach."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clearsight.errors import InputError
from clearsight.stream.calibration import CalibrationError, Homography, KnownDistance
from clearsight.stream.config import CameraConfigError, load_camera, parse_camera

pytestmark = pytest.mark.unit

IMAGE = [[40, 450], [600, 450], [570, 130], [70, 130]]
GROUND = [[0, 0], [40, 0], [40, 20], [0, 20]]
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "cameras"


def test_homography_maps_its_points_and_measures_lengths_in_metres():
    h = Homography.fit(IMAGE, GROUND, frame_size=(640, 480))
    np.testing.assert_allclose(h.to_ground(np.array(IMAGE, float)), GROUND, atol=1e-6)
    np.testing.assert_allclose(h.to_image(np.array(GROUND, float)), IMAGE, atol=1e-6)
    # a point between the near corners is on the near edge; the mid-point of the far edge is 20 m deep
    mid_far = h.to_ground(np.array([[320.0, 130.0]]))[0]
    assert mid_far[1] == pytest.approx(20.0, abs=1e-6) and 0 < mid_far[0] < 40
    # more than 4 points: a least-squares fit of the same plane
    extra = h.to_image(np.array([[20.0, 10.0]]))[0].tolist()
    h5 = Homography.fit([*IMAGE, extra], [*GROUND, [20, 10]])
    np.testing.assert_allclose(h5.to_ground(np.array([extra])), [[20, 10]], atol=1e-6)


def test_known_distance_gives_one_scale():
    k = KnownDistance.fit((100, 200), (400, 600), 25.0, frame_size=(640, 640))
    assert k.metres_per_pixel == pytest.approx(25.0 / 500.0)
    np.testing.assert_allclose(k.to_ground(np.array([[100.0, 0.0]])), [[5.0, 0.0]])


@pytest.mark.parametrize(("image", "ground", "size", "message"), [
    ([[0, 0], [100, 100], [200, 200], [50, 300]], GROUND, None, "points 1, 2 and 3 are (nearly) on one line"),
    (IMAGE, [[0, 0], [10, 0], [20, 0], [0, 20]], None, "ground points 1, 2 and 3"),
    (IMAGE, GROUND, (500, 400), "point 1 (40, 450) is outside the 500x400 frame"),
    (IMAGE, [GROUND[0], GROUND[1], GROUND[3], GROUND[2]], None, "folded ground plane"),
    (IMAGE[:3], GROUND[:3], None, "needs 4 points, got 3"),
    ([[0, 0], [1, 0], [1, float("nan")], [0, 1]], GROUND, None, "finite"),
])
def test_bad_points_are_refused_with_the_reason(image, ground, size, message):
    with pytest.raises(CalibrationError) as exc:
        Homography.fit(image, ground, frame_size=size)
    assert message in str(exc.value)
    assert isinstance(exc.value, InputError)


@pytest.mark.parametrize(("a", "b", "metres", "size", "message"), [
    ((10, 10), (10, 11), 5.0, None, "at least 2 pixels apart"),
    ((10, 10), (100, 10), 0.0, None, "positive number of metres"),
    ((10, 10), (700, 10), 5.0, (640, 480), "outside the 640x480 frame"),
])
def test_bad_known_distances_are_refused(a, b, metres, size, message):
    with pytest.raises(CalibrationError, match=message):
        KnownDistance.fit(a, b, metres, frame_size=size)


def _camera(traffic: dict, **extra) -> dict:
    import clearsight.apps.compose  # noqa: F401 - registers the traffic plug-ins

    return {"name": "road", "source": "x.mp4", "detect": {"detector": "opencv-hog-people"},
            "zones": [{"name": "lane", "polygon": [[0, 0], [1, 0], [1, 1]], "normalized": True}],
            "analysers": {"traffic": traffic}, **extra}


@pytest.mark.parametrize(("traffic", "message"), [
    ({"calibration": {"points": [{"image": p, "ground": g} for p, g in zip(IMAGE, GROUND)], "image_size": [320, 240]}},
     "outside the 320x240 frame"),
    ({"calibration": {"points": [{"image": [0.1, 0.1], "ground": [0, 0]}, {"image": [0.5, 0.5], "ground": [1, 0]},
                                 {"image": [0.9, 0.9], "ground": [1, 1]}, {"image": [0.1, 0.9], "ground": [0, 1]}],
                      "normalized": True}}, "on one line"),
    ({"calibration": {"points": [{"image": [1.2, 0.1], "ground": [0, 0]}, {"image": [0.9, 0.1], "ground": [1, 0]},
                                 {"image": [0.9, 0.9], "ground": [1, 1]}, {"image": [0.1, 0.9], "ground": [0, 1]}],
                      "normalized": True}}, "image point 1 (1.2, 0.1) is outside the frame"),
    ({"calibration": {}}, "either `points`"),
    ({"speed_limit_kmh": 50}, "speed limits need a ground-plane `calibration`"),
    ({"zones": {"lane": {"congestion": {"hold_s": 3}}}}, "min_vehicles"),
    ({"zones": {"lane": {"direction": [[0.5, 0.5], [0.5, 0.5]]}}}, "two distinct points"),
    ({"zones": {"lane": {"stoped_after_s": 3}}}, "stoped_after_s"),
])
def test_bad_traffic_sections_are_refused_when_the_camera_file_is_validated(traffic, message):
    with pytest.raises(CameraConfigError) as exc:
        parse_camera(_camera(traffic))
    assert message in str(exc.value)


def test_rules_for_a_zone_the_camera_does_not_have_are_refused_when_built():
    from clearsight.apps.compose import build_pipeline

    cfg = parse_camera(_camera({"zones": {"lane-2": {"stopped_after_s": 5}}}))
    with pytest.raises(InputError, match=r"zones \['lane-2'\] are not zones of camera 'road'"):
        build_pipeline(cfg)


def test_traffic_event_types_are_declared():
    import clearsight.apps.compose  # noqa: F401
    from clearsight.stream.analysers import analyser_event_types

    types = analyser_event_types()
    for t in ("vehicle.stopped", "vehicle.wrong_way", "vehicle.speeding", "traffic.congestion", "pedestrian.in_roadway",
              "traffic.count", "traffic.crossing", "vehicle.speed", "vehicle.forward_collision"):
        assert t in types
    docs = (Path(__file__).resolve().parents[3] / "docs" / "events.md").read_text()
    traffic = docs.split("## Traffic", 1)[1].split("\n## ", 1)[0]
    for t, (plugin, _) in types.items():
        if plugin in ("traffic", "forward_collision"):
            assert f"`{t}`" in traffic, t


@pytest.mark.parametrize("name", ["intersection.yaml", "carpark.yaml", "dashcam.yaml"])
def test_traffic_examples_validate_and_build_their_analysers(name):
    from clearsight.apps.compose import check_plugins
    from clearsight.stream.analysers import PluginContext, analyser_spec

    cfg = load_camera(EXAMPLES / name)
    check_plugins(cfg)
    sections = dict(cfg.plugin_sections())
    assert {"traffic", "forward_collision"} & set(sections)
    for plugin, section in sections.items():
        spec = analyser_spec(plugin)
        assert spec is not None
        analyser = spec.factory(spec.parse(section), PluginContext(cfg, gallery=lambda: None))  # zones resolved
        assert analyser.name == plugin
        analyser.close()


def test_time_to_collision_of_an_exact_approach():
    """Size f*S/Z with Z closing at 5 m/s from 30 m: TTC at every sample is Z/5, from the last second of sizes."""
    from clearsight.apps.traffic import time_to_collision

    ts = np.arange(0, 4, 0.1)
    z = 30 - 5 * ts
    sizes = 800 * 1.8 / z
    for i in range(10, len(ts)):
        assert time_to_collision(ts[i - 10: i + 1], sizes[i - 10: i + 1]) == pytest.approx(z[i] / 5, rel=1e-6)
    assert time_to_collision(ts[:11], np.full(11, 60.0)) is None or time_to_collision(ts[:11], np.full(11, 60.0)) > 1e3
    assert time_to_collision(ts[:11], sizes[10::-1]) is None  # receding


@pytest.mark.parametrize("root", ["TrafficConfig", "ForwardCollisionConfig"])
def test_every_traffic_setting_has_a_description(root):
    from tests.unit.stream.test_config_descriptions import _walk

    from clearsight.apps.traffic import config

    missing = {m.__name__: f for m, f in _walk(getattr(config, root)).items() if f}
    assert not missing
