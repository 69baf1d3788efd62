"""Cameras on a real two-node Ray cluster on this machine (`ray start` head + a second node,
`tests/ray_cluster.py`), run by the same supervisor as `clearsight run --engine ray`.

1. Streams sustained: N cameras, each a real clip looped and paced at its native fps (a live
   camera), face detection every 2nd frame + tracking, spread over the two nodes; per camera
   the processed fps after a warm-up against the source fps (frames beyond are dropped to keep
   up, never queued). A stream is sustained when it processes >= 95 % of the source's fps.
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
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "bench"))
from _common import require_data, table  # noqa: E402

from clearsight.rules import events as ev  # noqa: E402
from clearsight.stream.config import parse_camera  # noqa: E402
from clearsight.stream.ray_engine import RayCameraSupervisor  # noqa: E402
from tests.ray_cluster import NODE_IP, local_ray_cluster, run_in_background  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--streams", default="1,2,4,6")
ap.add_argument("--seconds", type=float, default=20.0, help="run time per row")
ap.add_argument("--reps", type=int, default=3, help="failover repetitions per kind")
ap.add_argument("--cpus-per-node", type=int, default=4, help="logical CPUs each node offers (cameras take 1 each)")
args = ap.parse_args()
CLIP = require_data("faces", "face_recognition_examples", "examples", "short_hamilton_clip.mp4")



def looped_fps(path: Path) -> float:
    """Frames a looped, real-time file delivers per second: its frames over its container's duration
    (this clip's clock starts at 0.85 s, so one pass lasts 10.0 s for 275 frames: 27.4 fps, not 29.97)."""
    import av

    with av.open(str(path)) as c:
        n = sum(1 for _ in c.demux(video=0) if _.size)
        return n / (c.duration / 1e6)


SOURCE_FPS = looped_fps(CLIP)
WARMUP_S = 3.0


def camera(i: int):
    return parse_camera({"name": f"cam-{i}", "source": str(CLIP), "source_options": {"realtime": True, "loop": True},
                         "detect": {"detector": "mediapipe", "every_n": 2}})


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
        # wait until every camera runs, warm up, then count the frames each processes in `seconds`
        t, out = run_in_background(sup)
        placed = sup.placements()
        time.sleep(WARMUP_S)
        t0, f0 = time.monotonic(), ray.get([c.actor.ping.remote() for c in sup.cameras])
        time.sleep(args.seconds)
        t1, f1 = time.monotonic(), ray.get([c.actor.ping.remote() for c in sup.cameras])
        sup.stop(); t.join(60)
        fps = [(b - a) / (t1 - t0) for a, b in zip(f0, f1)]
        kept = [s["frames"] / max(1, s["frames"] + s["dropped"]) for s in out["summaries"]]
        per_node = sorted(sum(1 for v in placed.values() if v == node) for node in set(placed.values()))
        rows.append((n, "+".join(map(str, per_node)), SOURCE_FPS, min(fps), statistics.median(fps),
                     f"{100 * min(kept):.0f} %", sum(f >= 0.95 * SOURCE_FPS for f in fps), load()))
        print(rows[-1], flush=True)
table(["cameras", "per node", "source fps", "min fps", "median fps", "worst kept (whole run)", "sustained (>= 95 % of source fps)",
       "load avg"], rows, f"Real-time streams on 2 Ray nodes (processed fps over {args.seconds:.0f} s after {WARMUP_S:.0f} s "
      "of warm-up; mediapipe faces every 2nd frame + tracking, 640x360)")


def failover(kind: str) -> tuple[float, float]:
    with local_ray_cluster(head_cpus=2, node_cpus=2) as cluster, tempfile.TemporaryDirectory() as tmp:
        ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
        second = next(n["NodeID"] for n in ray.nodes() if n["NodeManagerAddress"] == NODE_IP)
        paths = [str(Path(tmp) / f"{i}.jsonl") for i in range(2)]
        sup = RayCameraSupervisor([camera(0), camera(1)], events_paths=paths, poll_s=0.1)
        t, _ = run_in_background(sup)
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
