"""The camera schema: detector options checked against the detector's own schema (issue 19 item 8),
every example camera file loads, and the CLI's extra events file coexists with a jsonl sink (item 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clearsight.errors import InputError
from clearsight.rules.events import make_event
from clearsight.rules.sinks import JsonlSink
from clearsight.stream.config import CameraConfigError, load_camera, parse_camera
from clearsight.stream.detectors import create_stage_detector, detector_options_model

pytestmark = pytest.mark.unit

EXAMPLES = sorted((Path(__file__).parents[3] / "examples" / "cameras").glob("*.yaml"))


def test_unknown_detector_option_is_refused_at_validation():
    with pytest.raises(CameraConfigError) as exc:
        parse_camera({"name": "cam", "source": "x.mp4", "detect": {"options": {"bogus": 1}}})
    msg = str(exc.value)
    assert "detect" in msg and "bogus" in msg and "mediapipe" in msg and "full_range" in msg


@pytest.mark.parametrize(("detector", "options", "bad"), [
    ("centerface", {"max_side": "big"}, "max_side"),
    ("centerface", {"nms_iou": 2}, "nms_iou"),
    ("opencv-hog-people", {"min_neighbours": 3}, "min_neighbours"),
    ("dlib-hog", {"full_range": True}, "full_range"),  # an option of another detector
])
def test_options_are_checked_against_the_chosen_detector(detector, options, bad):
    with pytest.raises(CameraConfigError, match=bad):
        parse_camera({"name": "cam", "source": "x.mp4", "detect": {"detector": detector, "options": options}})


def test_valid_options_pass_and_unknown_detectors_are_refused():
    cfg = parse_camera({"name": "cam", "source": "x.mp4",
                        "detect": {"detector": "centerface", "options": {"max_side": 640, "nms_iou": 0.4}}})
    assert cfg.detect.options == {"max_side": 640, "nms_iou": 0.4}
    assert set(detector_options_model("opencv-hog-people").model_fields) == {"win_stride", "scale", "nms_iou"}
    with pytest.raises(CameraConfigError, match="unknown detector 'yolo-nope'"):
        parse_camera({"name": "cam", "source": "x.mp4", "detect": {"detector": "yolo-nope"}})
    # the same check guards detectors built in code, not only camera files
    with pytest.raises(InputError, match="bogus"):
        create_stage_detector("opencv-hog-people", bogus=1)
    assert create_stage_detector("opencv-hog-people", win_stride=4).win_stride == 4


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_camera_loads_with_its_plugins(path):
    from clearsight.apps.compose import check_plugins

    cfg = load_camera(path)
    check_plugins(cfg)  # every plug-in section it uses is provided
    assert cfg.name


def test_examples_exist():
    assert len(EXAMPLES) >= 4


def test_cli_events_file_coexists_with_a_jsonl_sink_of_the_camera_file(tmp_path):
    """`clearsight run cam.yaml -e events.jsonl` with a `{type: jsonl}` sink in cam.yaml failed with
    "two sinks are named 'jsonl'"; both files now get every event."""
    from clearsight.stream.pipeline import CameraPipeline

    cfg = parse_camera({"name": "cam", "source": "x.mp4", "output": {"face_seen": "off"},
                        "sinks": [{"type": "jsonl", "path": str(tmp_path / "yaml.jsonl")}],
                        "rules": [{"name": "r", "when": {"type": "zone.enter"}, "actions": ["jsonl"]}]})
    extra = JsonlSink(tmp_path / "cli.jsonl")
    pipe = CameraPipeline(cfg, extra_sinks=[(extra, "all")], detector=create_stage_detector("opencv-hog-people"))
    assert sorted(pipe.router.sinks) == ["jsonl", "jsonl-2"]
    pipe.emit(make_event("zone.enter", "cam", 1.0, (1,), None, zone="door"))
    pipe.close()
    yaml_lines = [json.loads(x) for x in (tmp_path / "yaml.jsonl").read_text().splitlines()]
    cli_lines = [json.loads(x) for x in (tmp_path / "cli.jsonl").read_text().splitlines()]
    assert [e["type"] for e in yaml_lines] == ["zone.enter", "alert"]  # the rule still addresses the camera file's sink
    assert [e["type"] for e in cli_lines] == ["zone.enter"]  # every event; the alert went where its rule sends it


def test_a_registered_detector_without_an_options_model_gets_one_from_its_signature():
    from clearsight.stream.detectors import register_stage_detector

    @register_stage_detector("test-signature-detector")
    class _Det:
        name, label = "test-signature-detector", "person"

        def __init__(self, min_score: float = 0.5, stride: int = 8, fast: bool = False) -> None:
            self.stride, self.fast = stride, fast

        def detect(self, rgb):
            return []

    assert set(detector_options_model("test-signature-detector").model_fields) == {"stride", "fast"}
    cfg = parse_camera({"name": "c", "source": "x.mp4",
                        "detect": {"detector": "test-signature-detector", "options": {"stride": 4}}})
    assert create_stage_detector(cfg.detect.detector, **cfg.detect.options).stride == 4
    with pytest.raises(CameraConfigError, match="stride"):
        parse_camera({"name": "c", "source": "x.mp4",
                      "detect": {"detector": "test-signature-detector", "options": {"stride": "wide"}}})
