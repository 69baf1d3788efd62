"""Cameras on a real two-node Ray cluster (`ray start` head + a second node on this machine):
the second node is killed and its camera moves to the head, with `camera.down` then `camera.up`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clearsight.rules import events as ev
from clearsight.stream.config import parse_camera

from ...conftest import data_path
from ...ray_cluster import NODE_IP, local_ray_cluster, run_in_background, unavailable

pytestmark = pytest.mark.integration


def _wait(what: str, cond, timeout_s: float = 90.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _events(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_cameras_move_to_the_surviving_node(tmp_path):
    if (why := unavailable()) is not None:
        pytest.skip(why)
    import ray

    from clearsight.stream.ray_engine import RayCameraSupervisor

    clip = data_path("faces", "face_recognition_examples", "examples", "short_hamilton_clip.mp4")
    campus = data_path("tracking", "pedestrians", "tud_campus", "tud_campus_15fps.mp4")
    live = {"realtime": True, "loop": True}  # paced like a camera and endless: only stop() ends them
    cams = [
        parse_camera({"name": "cam-a", "source": str(clip), "source_options": live, "detect": {"every_n": 2}}),
        parse_camera({"name": "cam-b", "source": str(campus), "source_options": live, "detect": {"every_n": 2},
                      "lines": [{"name": "mid", "points": [[0.5, 0], [0.5, 1]], "normalized": True}]}),
    ]
    paths = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    with local_ray_cluster(head_cpus=2, node_cpus=2) as cluster:
        ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
        nodes = {n["NodeManagerAddress"]: n["NodeID"] for n in ray.nodes() if n["Alive"]}
        second = nodes.pop(NODE_IP)
        (head,) = nodes.values()
        # the CLI points at the same cluster: `clearsight run --engine ray --ray-address`, one camera per node
        files = []
        for c in cams:
            files.append(tmp_path / f"{c.name}.yaml")
            files[-1].write_text(json.dumps(c.model_dump(mode="json") | {"source_options": {"realtime": True}}))
        cli = subprocess.run([sys.executable, "-m", "clearsight.cli", "run", *map(str, files), "--engine", "ray",
                              "--ray-address", cluster.address, "--max-frames", "20", "--json"],
                             capture_output=True, text=True, timeout=180)
        assert cli.returncode == 0, cli.stderr[-2000:]
        runs = json.loads(cli.stdout.strip().splitlines()[-1])
        assert [r["frames"] for r in runs] == [20, 20] and sorted(r["node_id"] for r in runs) == sorted([head, second])

        sup = RayCameraSupervisor(cams, events_paths=[str(p) for p in paths], poll_s=0.2)
        runner, out = run_in_background(sup)
        try:
            placed = sup.placements()
            # SPREAD: one camera per node
            assert sorted(placed.values()) == sorted([head, second]), placed
            moved = next(name for name, node in placed.items() if node == second)
            stayed = next(name for name in placed if name != moved)
            cluster.nodes[1].kill()
            _wait("the camera to run on the head", lambda: sup.placements()[moved] == head)
        finally:
            sup.stop()
            runner.join(60)
        assert not runner.is_alive()
    summaries = {s["camera"]: s for s in out["summaries"]}  # type: ignore[union-attr]
    assert summaries[moved]["failovers"] == 1 and summaries[moved]["node_id"] == head
    assert summaries[stayed]["failovers"] == 0 and summaries[stayed]["node_id"] == head
    assert summaries[moved]["frames"] > 0 and summaries[moved]["error"] is None  # it worked on after the move
    by_cam = dict(zip(["cam-a", "cam-b"], paths))
    status = [e for e in _events(by_cam[moved]) if e["type"] in (ev.CAMERA_DOWN, ev.CAMERA_UP)]
    assert [e["type"] for e in status] == [ev.CAMERA_DOWN, ev.CAMERA_UP], status
    down, up = status
    assert down["data"]["node_id"] == second and up["data"]["node_id"] == head
    assert up["data"]["from_node_id"] == second and up["time"] >= down["time"]
    assert all(e["camera"] == moved for e in _events(by_cam[moved]))
    others = _events(by_cam[stayed])
    assert not any(e["type"] in (ev.CAMERA_DOWN, ev.CAMERA_UP) for e in others)
