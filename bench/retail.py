"""Retail analytics, measured: footfall line counts on TUD-Campus against its ground-truth
tracks, queue waiting time on composed queues, and frames per second at 720p.

- Footfall: five vertical entrance lines (x = 0.3 .. 0.7 of the width) on the 71
  TUD-Campus frames (640x480, 15 fps). Ground truth: the ground-truth tracks'
  feet (bottom centre of the box) through the same `FootfallCounter` rule as the
  system (the plain sign change of the side of the line, per line and direction,
  is printed too). Error = |counted - truth| / truth over all lines.
- Queue: COMPOSED scenes (`clearsight.apps.retail.scenes`): real people cut from
  TUD-Campus over its median background, queueing with random arrivals and service;
  the truth is each person's exact time with the feet in the queue zone. Error of
  the mean wait of the scene per estimate (Little's law, service rate at the head,
  observed tracked stays).
- In-cabin: `cabin.occupancy` on the in-car frames of dms/drowsiness_yawn_eyes (one driver
  each, the truth is 1); phone use is unmeasured (no labelled phone frames).
- fps: the whole retail camera (detection, tracking, retail analyser, the face
  redaction filter the face-free rule requires) on a 1280x720 clip.

Detectors: the engine's stages `opencv-hog-people` and the COCO object stages limited to
people (`centernet`, `nanodet` with `options: {classes: [person]}`), as a camera file names them.

    .venv/bin/python bench/retail.py [--quick]
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, require_data, table  # noqa: E402

from clearsight.apps.compose import build_pipeline  # noqa: E402
from clearsight.apps.retail.footfall import FootfallCounter  # noqa: E402
from clearsight.apps.retail.scenes import queue_scene  # noqa: E402
from clearsight.io.video import ImageFolderSource  # noqa: E402
from clearsight.rules.sinks import CallbackSink  # noqa: E402
from clearsight.stream.config import CameraConfig  # noqa: E402
from clearsight.stream.zones import Line  # noqa: E402
from clearsight.types import BBox  # noqa: E402

LINES_X = (0.3, 0.4, 0.5, 0.6, 0.7)


def people(name: str, min_score: float) -> object:
    """The engine's object stage limited to people: what `detect: {detector: NAME, min_score: S,
    options: {classes: [person]}}` builds in a camera file."""
    from clearsight.stream.detectors import create_stage_detector

    return create_stage_detector(name, min_score=min_score, classes=["person"])


def detectors(quick: bool) -> dict[str, object | None]:
    out: dict[str, object | None] = {"opencv-hog-people": None, "centernet@0.3": people("centernet", 0.3)}
    if not quick:
        out["centernet@0.4"] = people("centernet", 0.4)
        out["nanodet@0.3"] = people("nanodet", 0.3)
    return out


def camera(name: str, source: str, **extra: object) -> CameraConfig:
    return CameraConfig.model_validate({"name": name, "source": source, "detect": {"detector": "opencv-hog-people"},
                                        "output": {"face_seen": "off"}, "redact": {"mode": "blur"}, **extra})


def run(cfg: CameraConfig, source: object, detector: object | None) -> tuple[list, float, int]:
    events: list = []
    pipe = build_pipeline(cfg, source=source, detector=detector, extra_sinks=[(CallbackSink(events.append), "all")])
    t0 = time.perf_counter()
    summary = pipe.run()
    pipe.close()
    return events, time.perf_counter() - t0, summary.frames


def run_analysers(cfg: CameraConfig, source: object, detector: object | None) -> tuple[list, float, int]:
    """Detect -> track -> the camera's analysers, as the pipeline runs them, without the output
    filters (the face redaction changes pixels, not counts; its cost is in the fps table)."""
    from clearsight.stream.analysers import FrameView, PluginContext, analyser_spec
    from clearsight.stream.detectors import create_stage_detector
    from clearsight.stream.tracking import Tracker

    det = detector or create_stage_detector(cfg.detect.detector, min_score=cfg.detect.min_score)
    ctx = PluginContext(cfg, lambda: None)  # type: ignore[arg-type, return-value]
    analysers = [spec.factory(spec.parse(sec), ctx) for name, sec in cfg.plugin_sections()
                 if (spec := analyser_spec(name)) is not None]
    tracker = Tracker(cfg.track, fps=source.fps or 25.0)  # type: ignore[attr-defined]
    events: list = []
    t0, n, last = time.perf_counter(), 0, 0.0
    for frame in source:  # type: ignore[attr-defined]
        tracks = tracker.update(det.detect(frame.image), frame.time)
        view = FrameView(cfg.name, frame, tuple(tracks), (), True)
        for a in analysers:
            events += a.analyse(view).events
        for tid in tracker.ended(frame.time):
            for a in analysers:
                events += a.end_track(tid, frame.time)
        n, last = n + 1, frame.time
    for tid in tracker.ended(last, all_tracks=True):
        for a in analysers:
            events += a.end_track(tid, last)
    for a in analysers:
        a.close()
    return events, time.perf_counter() - t0, n


# ---------------------------------------------------------------- footfall
def footfall_truth(gt_file: Path, width: int, height: int) -> tuple[dict[str, int], dict[str, int]]:
    gt = np.loadtxt(gt_file, delimiter=",")
    counter = FootfallCounter([(Line(f"x{round(x * 100)}", np.array([x * width, 0.0]), np.array([x * width, float(height)])),
                                "left_to_right") for x in LINES_X], stitch_s=0)
    plain: dict[str, int] = collections.Counter()
    last: dict[int, float] = {}
    for f in range(1, int(gt[:, 0].max()) + 1):
        for row in gt[gt[:, 0] == f]:
            pid, feet_x = int(row[1]), row[2] + row[4] / 2
            counter.update(pid, BBox(row[2], row[3], row[2] + row[4], row[3] + row[5]), f / 15.0)
            if pid in last:
                for x in LINES_X:
                    if (last[pid] - x * width) * (feet_x - x * width) < 0:
                        plain[f"x{round(x * 100)}"] += 1
            last[pid] = feet_x
    return {k: v["in"] + v["out"] for k, v in counter.totals.items()}, dict(plain)


def bench_footfall(quick: bool) -> None:
    root = require_data("tracking", "pedestrians", "tud_campus")
    truth, plain = footfall_truth(root / "original_gt" / "gt.txt", 640, 480)
    lines = [{"name": f"x{round(x * 100)}", "points": [[x, 0.0], [x, 1.0]], "normalized": True} for x in LINES_X]
    rows = []
    per_line_rows = []
    for name, det in detectors(quick).items():
        cfg = camera("tud", str(root / "frames"), lines=lines, analysers={"retail": {"footfall": {}}})
        events, secs, frames = run(cfg, ImageFolderSource(root / "frames", fps=15, start_time=0), det)  # the whole camera
        got = collections.Counter(e.data["line"] for e in events if e.type == "retail.footfall")
        engine = collections.Counter(e.data["line"] for e in events if e.type == "line.cross")
        n, t, eng = sum(got.values()), sum(truth.values()), sum(engine.values())
        rows.append((name, t, n, f"{abs(n - t) / t:.0%}", eng, f"{abs(eng - t) / t:.0%}", round(frames / secs, 1)))
        per_line_rows.append((name, *(f"{got.get(k, 0)}/{truth[k]}" for k in truth)))
    table(["detector", "truth crossings", "retail.footfall", "error", "engine line.cross", "error", "fps (shared)"], rows,
          title=f"Footfall on TUD-Campus, 5 lines, 71 frames (truth per line {truth}; plain sign changes {plain})")
    table(["detector", *truth], per_line_rows, title="Footfall per line: counted / truth")


# ---------------------------------------------------------------- queue
SCENARIOS = [  # (seed, mean arrival s, mean service s)
    (1, 7.0, 6.0), (2, 6.0, 5.0), (3, 10.0, 4.0), (4, 7.0, 6.5),
]


def bench_queue(quick: bool, duration_s: float, fps: float = 5.0) -> None:
    rows = []
    for seed, arr, srv in SCENARIOS[: 2 if quick else None]:
        scene = queue_scene(DATA, seed=seed, duration_s=duration_s, mean_arrival_s=arr, mean_service_s=srv, fps=fps)
        truth = [b - a for a, b in scene.truth()]
        gt_wait = float(np.mean(truth))
        zone = {"name": "till", "polygon": [list(p) for p in scene.zone]}
        for name, det in detectors(True).items():
            cfg = camera("queue", "composed", zones=[zone], output={"face_seen": "off", "snapshots": False},
                         analysers={"retail": {"queue": {"zone": "till", "window_s": duration_s * 2, "every_s": 5}}})
            events, secs, frames = run_analysers(cfg, scene.source(), det)
            q = [e for e in events if e.type == "retail.queue"]
            last = q[-1].data if q else {}
            err = {k: (abs(last[k] - gt_wait) / gt_wait if last.get(k) is not None else float("nan"))
                   for k in ("wait_s", "service_wait_s", "observed_wait_s")}
            rows.append((f"{seed} (1/{arr:g}, 1/{srv:g})", name, len(truth), round(gt_wait, 1), last.get("wait_s"),
                         f"{err['wait_s']:.0%}", last.get("observed_wait_s"), f"{err['observed_wait_s']:.0%}",
                         last.get("arrivals"), round(frames / secs, 1)))
    table(["scene (seed, rates)", "detector", "customers", "true mean wait s", "Little W s", "error", "tracked stays s",
           "error", "arrivals counted", "fps (shared)"], rows,
          title=f"Queue wait on COMPOSED scenes ({duration_s:g} s at {fps:g} fps, real TUD-Campus people over its median background)")


# ---------------------------------------------------------------- fps at 720p
def bench_fps(quick: bool) -> None:
    import cv2

    from clearsight.io.video import Frame, VideoSource

    root = require_data("tracking", "pedestrians", "tud_campus")
    frames = [cv2.resize(cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB), (1280, 720))
              for f in sorted((root / "frames").glob("*.jpg"))][: 30 if quick else 71]

    class Clip(VideoSource):
        def __init__(self) -> None:
            super().__init__("clip720")
            self.fps = 15.0

        def frames(self):  # noqa: ANN202
            for i, rgb in enumerate(frames):
                yield Frame(rgb, i, i / 15, i / 15, self.name)

    lines = [{"name": "door", "points": [[0.5, 0.0], [0.5, 1.0]], "normalized": True}]
    zones = [{"name": "floor", "polygon": [[0, 0.6], [1, 0.6], [1, 1], [0, 1]], "normalized": True}]
    retail = {"footfall": {}, "dwell": {}, "heatmap": {"every_s": 2}}
    rows = []
    for name, det in detectors(True).items():
        for redact in (True, False):
            cfg = camera("fps", "clip", lines=lines, zones=zones, analysers={"retail": retail} if redact else {})
            if not redact:  # the analyser alone (the face-free rule would refuse a camera without redaction)
                from clearsight.apps.retail import RetailAnalyser, RetailConfig

                cfg_r = camera("fps", "clip", lines=lines, zones=zones)
                an = RetailAnalyser(cfg_r, RetailConfig.model_validate(retail), snapshots=False)
                cfg = cfg_r.model_copy(update={"redact": None})
                pipe = build_pipeline(cfg, source=Clip(), detector=det, analysers=[an])
                t0 = time.perf_counter()
                s = pipe.run()
                pipe.close()
                secs, n = time.perf_counter() - t0, s.frames
            else:
                _, secs, n = run(cfg, Clip(), det)
            rows.append((name, "yes" if redact else "no", n, round(n / secs, 1)))
    table(["detector", "face redaction (centerface)", "frames", "fps 1280x720 (shared machine)"], rows,
          title="Retail camera throughput at 720p (detect every frame)")


# ---------------------------------------------------------------- in-cabin
def bench_cabin(quick: bool) -> None:
    """Occupancy on real in-car frames: every frame of dms/drowsiness_yawn_eyes/yawn shows one
    driver and empty seats (checked by eye on a contact sheet of 40), so the truth is 1."""
    from clearsight.apps.cabin import CabinConfig, CabinObserver
    from clearsight.io import load_image

    root = require_data("dms", "drowsiness_yawn_eyes", "yawn")
    files = sorted(root.glob("*/*.jpg"))[:: 4 if quick else 2]
    rows = []
    for label, cfg in (("centernet only", CabinConfig(use_pose=False)), ("centernet + movenet", CabinConfig()),
                       ("centernet@0.5 + movenet", CabinConfig(person_score=0.5))):
        obs = CabinObserver(cfg)
        counts: collections.Counter = collections.Counter()
        phones = 0
        t0 = time.perf_counter()
        for f in files:
            st = obs.observe(load_image(f))
            counts[st.occupants] += 1
            phones += st.phone_use
        ms = (time.perf_counter() - t0) / len(files) * 1000
        rows.append((label, len(files), f"{counts[1] / len(files):.1%}", counts[0], sum(v for k, v in counts.items() if k > 1),
                     phones, round(ms)))
    table(["people from", "frames", "occupancy = 1 (correct)", "counted 0", "counted 2+", "phone use (none true)",
           "ms/frame (shared)"], rows, title="cabin.occupancy on real in-car frames (one driver each)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer detectors and scenes")
    ap.add_argument("--only", choices=["footfall", "queue", "fps", "cabin"], default=None)
    ap.add_argument("--queue-seconds", type=float, default=120.0)
    ap.add_argument("--queue-fps", type=float, default=5.0)
    args = ap.parse_args()
    if args.only in (None, "footfall"):
        bench_footfall(args.quick)
    if args.only in (None, "queue"):
        bench_queue(args.quick, args.queue_seconds, args.queue_fps)
    if args.only in (None, "fps"):
        bench_fps(args.quick)
    if args.only in (None, "cabin"):
        bench_cabin(args.quick)


if __name__ == "__main__":
    main()
