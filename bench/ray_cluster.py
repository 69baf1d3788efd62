"""Cameras on a real two-node Ray cluster on this machine (`ray start` head + a second node,
`tests/ray_cluster.py`), run by the same supervisor as `clearsight run --engine ray`.

1. Streams sustained: N cameras, each a real clip looped and paced at its native fps (a live
   camera), face detection every 2nd frame + tracking, spread over the two nodes; per camera
   the processed fps against the source fps and the share of frames dropped to keep up.
   A stream is sustained when it processes >= 95 % of the source's frames.
2. Failover: two cameras (one per node), the second node killed (SIGKILL of all its processes)
   or frozen (SIGSTOP: a hung machine, noticed only by missed health checks, Ray's defaults);
   time from the kill to the moved camera's `camera.down` and `camera.up` (its first frame on
   the head), min / median / max over the repetitions.

    .venv/bin/python bench/ray_cluster.py [--streams 1,2,4,6] [--seconds 20] [--reps 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "bench"))
from _common import require_data, table  # noqa: E402

from clearsight.rules import events as ev  # noqa: E402
from clearsight.stream.config import parse_camera  # noqa: E402
from clearsight.stream.ray_engine import RayCameraSupervisor  # noqa: E402
from tests.ray_cluster import NODE_IP, local_ray_cluster  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--streams", default="1,2,4,6")
ap.add_argument("--seconds", type=float, default=20.0, help="run time per row")
ap.add_argument("--reps", type=int, default=3, help="failover repetitions per kind")
ap.add_argument("--cpus-per-node", type=int, default=4, help="logical CPUs each node offers (cameras take 1 each)")
args = ap.parse_args()
CLIP = require_data("faces", "face_recognition_examples", "examples", "short_hamilton_clip.mp4")
SOURCE_FPS = 29.97


def camera(i: int):
    return parse_camera({"name": f"cam-{i}", "source": str(CLIP), "source_options": {"realtime": True, "loop": True},
                         "detect": {"detector": "mediapipe", "every_n": 2}})


def run_for(sup: RayCameraSupervisor, seconds: float, until=None):  # noqa: ANN001
    """Run the supervisor in a thread; `until` (a callable) may end the wait early; returns the summaries."""
    out: dict = {}
    t = threading.Thread(target=lambda: out.update(s=sup.run()), daemon=True)
    t.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and t.is_alive() and not (until and until()):
        time.sleep(0.1)
    return t, out


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


print(f"# Ray cluster bench: 2 nodes x {args.cpus_per_node} logical CPUs on {os.cpu_count()} cores; "
      f"load average at start {load()}", flush=True)
import ray  # noqa: E402

rows = []
with local_ray_cluster(head_cpus=args.cpus_per_node, node_cpus=args.cpus_per_node) as cluster:
    ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
    for n in [int(x) for x in args.streams.split(",")]:
        sup = RayCameraSupervisor([camera(i) for i in range(n)], poll_s=0.2)
        # wait until every camera runs, then measure for `seconds`
        t, out = run_for(sup, 120, until=lambda: all(sup.placements().values()))
        placed = sup.placements()
        time.sleep(args.seconds)
        sup.stop(); t.join(60)
        sums = out["s"]
        fps = [s["fps"] for s in sums]
        kept = [s["frames"] / max(1, s["frames"] + s["dropped"]) for s in sums]
        per_node = sorted(sum(1 for v in placed.values() if v == node) for node in set(placed.values()))
        rows.append((n, "+".join(map(str, per_node)), SOURCE_FPS, min(fps), statistics.median(fps),
                     f"{100 * min(kept):.0f} %", sum(k >= 0.95 for k in kept), load()))
        print(rows[-1], flush=True)
table(["cameras", "per node", "source fps", "min fps", "median fps", "worst kept", "sustained (>=95 %)", "load avg"],
      rows, f"Real-time streams on 2 Ray nodes ({args.seconds:.0f} s each, mediapipe every 2nd frame, 640x360)")


def failover(kind: str) -> tuple[float, float]:
    with local_ray_cluster(head_cpus=2, node_cpus=2) as cluster, tempfile.TemporaryDirectory() as tmp:
        ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
        second = next(n["NodeID"] for n in ray.nodes() if n["NodeManagerAddress"] == NODE_IP)
        paths = [str(Path(tmp) / f"{i}.jsonl") for i in range(2)]
        sup = RayCameraSupervisor([camera(0), camera(1)], events_paths=paths, poll_s=0.1)
        t, _ = run_for(sup, 120, until=lambda: all(sup.placements().values()))
        moved = [name for name, node in sup.placements().items() if node == second]
        assert len(moved) == 1, sup.placements()
        path = paths[int(moved[0].split("-")[1])]
        t0 = time.time()
        (cluster.nodes[1].kill if kind == "kill" else cluster.nodes[1].freeze)()
        deadline = time.monotonic() + 120
        status: dict[str, float] = {}
        while time.monotonic() < deadline and ev.CAMERA_UP not in status:
            for line in Path(path).read_text().splitlines():
                e = json.loads(line)
                if e["type"] in (ev.CAMERA_DOWN, ev.CAMERA_UP):
                    status.setdefault(e["type"], e["time"])
            time.sleep(0.1)
        sup.stop(); t.join(60)
        if ev.CAMERA_UP not in status:
            return float("nan"), float("nan")
        return status[ev.CAMERA_DOWN] - t0, status[ev.CAMERA_UP] - t0


frows = []
for kind in ("kill", "freeze"):
    got = [failover(kind) for _ in range(args.reps)]
    print(kind, got, flush=True)
    downs, ups = [g[0] for g in got], [g[1] for g in got]
    frows.append((kind, len(got), min(downs), statistics.median(downs), max(downs),
                  min(ups), statistics.median(ups), max(ups), load()))
table(["second node", "reps", "down min s", "down median s", "down max s", "up min s", "up median s", "up max s",
       "load avg"], frows, "Failover: seconds from the node's death to camera.down and to camera.up on the head")
print(f"load average at the end {load()}")
