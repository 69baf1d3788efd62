"""The camera pipeline on real footage and composed scenes: tracks, events, output, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clearsight.io.video import open_source
from clearsight.rules import MemorySink
from clearsight.stream.config import parse_camera
from clearsight.stream.pipeline import CameraPipeline

from ...conftest import data_path

pytestmark = pytest.mark.integration


def test_hamilton_clip_events_and_annotated_output(tmp_path):
    clip = data_path("faces", "face_recognition_examples", "examples", "short_hamilton_clip.mp4")
    cfg = parse_camera({
        "name": "hamilton", "source": str(clip),
        "zones": [{"name": "left", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], "normalized": True, "dwell_s": 1}],
        "lines": [{"name": "middle", "points": [[0.5, 0], [0.5, 1]], "normalized": True}],
        "rules": [{"name": "left-dwell", "when": {"type": "zone.dwell", "zone": "left"}, "actions": ["log"]}],
        "sinks": [{"type": "jsonl", "name": "log", "path": str(tmp_path / "events.jsonl")}, {"type": "store"}],
    })
    mem = MemorySink()
    pipe = CameraPipeline(cfg, extra_sinks=[(mem, "all")], output_path=str(tmp_path / "out.mp4"))
    s = pipe.run()
    pipe.close()
    n_in = sum(1 for _ in open_source(clip))
    assert s.frames == n_in and s.detections_run == n_in and s.error is None
    seen = [e for e in mem.events if e.type == "face.seen"]
    assert s.tracks >= 2 and len(seen) == s.tracks  # one face.seen per track, not per frame
    assert len({e.track_ids for e in seen}) == len(seen) and all(e.snapshot_jpeg for e in seen)
    times = [e.time for e in mem.events if e.type != "alert"]
    assert times == sorted(times)
    # every zone.enter is closed by a zone.exit (left or track lost) by the end of the video
    enters = sorted(e.track_ids for e in mem.events if e.type == "zone.enter")
    exits = sorted(e.track_ids for e in mem.events if e.type == "zone.exit")
    assert enters == exits
    logged = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert {x["type"] for x in logged} >= {"face.seen"}
    assert sum(x["type"] == "alert" for x in logged) == s.events.get("alert", 0)
    out = list(open_source(tmp_path / "out.mp4"))
    assert len(out) == n_in and out[0].image.shape[:2] == (pipe.latest.shape[0], pipe.latest.shape[1])
    from clearsight.rules import EventStore

    assert EventStore().count(camera="hamilton", type="face.seen") == len(seen)


def _majority_track(events, truth):
    """identity -> set of track ids whose first sighting box overlaps that identity's box in that frame."""
    out: dict[str, set[int]] = {}
    for e in events:
        if e.type != "face.seen":
            continue
        f = e.data["frame"]
        b = e.data["box"]
        from clearsight.types import BBox

        box = BBox(b["x1"], b["y1"], b["x2"], b["y2"])
        best = max(truth[f], key=lambda it: box.iou(it[1]), default=None)
        if best is not None and box.iou(best[1]) > 0.3:
            out.setdefault(best[0], set()).update(e.track_ids)
    return out


def test_composed_scene_one_track_per_person(composed):
    cfg = parse_camera({"name": "composed", "source": str(composed.video)})
    mem = MemorySink()
    pipe = CameraPipeline(cfg, extra_sinks=[(mem, "all")])
    pipe.run()
    per_person = _majority_track(mem.events, composed.truth)
    names = [p for p, _ in composed.people]
    # BlazeFace misses one grey LFW face entirely (CenterFace finds it, at 3x the cost): allow one miss
    assert set(per_person) <= set(names) and len(per_person) >= len(names) - 1, per_person
    assert all(len(ids) == 1 for ids in per_person.values()), per_person  # no identity switches


def test_detection_every_n_frames_still_tracks(composed):
    cfg = parse_camera({"name": "sparse", "source": str(composed.video), "detect": {"every_n": 3}})
    mem = MemorySink()
    s = CameraPipeline(cfg, extra_sinks=[(mem, "all")]).run()
    assert s.detections_run == -(-s.frames // 3)
    per_person = _majority_track([e for e in mem.events], composed.truth)
    assert len(per_person) >= len(composed.people) - 1


def test_cli_run_writes_video_and_events(tmp_path, composed):
    from typer.testing import CliRunner

    from clearsight.cli import app

    cam = tmp_path / "cam.yaml"
    cam.write_text(f"name: cli-cam\nsource: {composed.video}\nlines: [{{name: mid, points: [[0.5, 0], [0.5, 1]], normalized: true}}]\n")
    r = CliRunner().invoke(app, ["run", str(cam), "--output", str(tmp_path / "a.mp4"), "--events", str(tmp_path / "e.jsonl"), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output.strip().splitlines()[-1])[0]
    events = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text().splitlines()]
    crosses = [e for e in events if e["type"] == "line.cross"]
    assert len(composed.people) - 1 <= len(crosses) <= len(composed.people) + 2  # each person crosses the middle once
    assert summary["events"]["line.cross"] == len(crosses)
    assert (tmp_path / "a.mp4").stat().st_size > 10_000
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsource: nowhere.mp4\n")
    r = CliRunner().invoke(app, ["run", str(bad)])
    assert r.exit_code == 2 and "not found" in r.output


def test_live_mjpeg_camera_drop_gives_events_not_a_crash(tmp_path):
    import threading

    from ...unit.stream.mjpeg_server import MjpegCamera

    cam = MjpegCamera().start()
    cfg = parse_camera({"name": "live", "source": cam.url,
                        "source_options": {"reconnect": {"backoff_initial_s": 0.1, "backoff_max_s": 0.3, "timeout_s": 2}}})
    mem = MemorySink()
    pipe = CameraPipeline(cfg, extra_sinks=[(mem, "all")])
    def script():
        import time

        time.sleep(1.0)
        cam.stop()
        time.sleep(1.0)
        cam.start()
        time.sleep(1.5)
        pipe.stop()

    threading.Thread(target=script, daemon=True).start()
    s = pipe.run()
    cam.stop()
    kinds = [e.type for e in mem.events if e.type.startswith("camera.")]
    assert kinds[:3] == ["camera.up", "camera.down", "camera.up"], kinds
    assert s.frames > 20 and s.error is None
    down = next(e for e in mem.events if e.type == "camera.down")
    assert down.camera == "live" and down.data["reason"]
