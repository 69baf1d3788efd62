"""Every video event says where it happened in the source: `offset_s` and `frame` (issue 18),
checked against the timestamps PyAV reads from the same real file."""

from __future__ import annotations

import json

import av
import pytest

from clearsight.rules import EventStore, MemorySink
from clearsight.stream.config import parse_camera
from clearsight.stream.pipeline import CameraPipeline

from ...conftest import data_path

pytestmark = pytest.mark.integration


def _pyav_offsets(path) -> list[float]:
    """Each frame's presentation time, from its first frame (this clip's clock starts at 0.85 s)."""
    with av.open(str(path)) as c:
        ts = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    return [t - ts[0] for t in ts]


def test_events_carry_frame_and_offset_of_the_file(tmp_path):
    clip = data_path("faces", "face_recognition_examples", "examples", "short_hamilton_clip.mp4")
    truth = _pyav_offsets(clip)
    cfg = parse_camera({
        "name": "offsets", "source": str(clip), "detect": {"every_n": 3},
        "zones": [{"name": "all", "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]], "normalized": True}],
        "rules": [{"name": "any-face", "when": {"type": "face.seen"}, "actions": ["log"]}],
        "sinks": [{"type": "jsonl", "name": "log", "path": str(tmp_path / "events.jsonl")}, {"type": "store"}],
    })
    mem = MemorySink()
    pipe = CameraPipeline(cfg, extra_sinks=[(mem, "all")])
    summary = pipe.run(max_frames=120)
    pipe.close()
    events = list(mem.events)
    assert summary.frames == 120 and {"face.seen", "zone.enter"} <= {e.type for e in events}
    for e in events:
        assert e.frame is not None and 0 <= e.frame < 120, e
        if e.type in ("face.seen", "zone.enter"):  # stamped from the frame they were seen in
            assert e.frame == e.data["frame"] and e.frame % 3 == 0
            assert e.offset_s == pytest.approx(truth[e.frame], abs=1e-6)
    # the wall-clock time and the offset differ by the same origin for every event
    origins = {round(e.time - e.offset_s, 4) for e in events}
    assert len(origins) == 1
    logged = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    alerts = [(x["frame"], x["offset_s"]) for x in logged if x["type"] == "alert"]
    seen = [(e.frame, round(e.offset_s, 3)) for e in events if e.type == "face.seen"]
    assert alerts and sorted(alerts) == sorted(seen)  # each alert is where its trigger was
    stored = EventStore().query(camera="offsets", type="face.seen", newest_first=False, limit=1000)
    assert [(r["frame"], r["offset_s"]) for r in stored] == [(e.frame, e.offset_s) for e in events
                                                             if e.type == "face.seen"]
