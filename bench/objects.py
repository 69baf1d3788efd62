"""Person detection for counting and tracking: nanodet, centernet (plain, letterboxed,
tiled, larger input) against OpenCV's HOG people detector (the floor), same run.

OpenCV HOG with 2x upscaling (for people under 128 px) and centernet + tiles were
left out: 7x and 5x the cost of their plain runs, measured too slow for this run.
- crowd/mall (640x480 CCTV, every 2nd of the 200 labelled frames): count MAE
  within the ROI mask (a detection counts when its head point, 10% below the box
  top, is inside; ground truth = annotated heads inside the mask);
- crowd/shanghaitech Part B test (60 street photos, 1024x768): count MAE, whole image;
- tracking/pedestrians TUD-Campus (71 frames, 640x480): person recall/precision at
  IoU 0.5 (greedy one-to-one matching, best score first);
- ms per frame at 640x480 and 1280x720 (a mall frame resized), 1 image at a time.
Each detector runs once per image at a low score threshold; the tables evaluate
score thresholds 0.2/0.3/0.4/0.5 from those detections (threshold choice is part of
the result, not tuned per data set silently).

    .venv/bin/python bench/objects.py [--quick]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import require_data, table  # noqa: E402

from clearsight.io import load_image  # noqa: E402
from clearsight.types import BBox, Detection  # noqa: E402
from clearsight.vision.objects import TiledDetector, count, create_object_detector  # noqa: E402

THRESHOLDS = (0.2, 0.3, 0.4, 0.5)
LOW = 0.15


def configs() -> dict[str, Callable[[], object]]:
    return {
        "opencv-hog-people": lambda: create_object_detector("opencv-hog-people", min_score=0.0),
        "nanodet 416 stretched (as Human)": lambda: create_object_detector("nanodet", min_score=LOW, letterbox=False),
        "nanodet 416 letterbox": lambda: create_object_detector("nanodet", min_score=LOW, letterbox=True),
        "nanodet 416 stretched + 2x2 tiles": lambda: TiledDetector(create_object_detector("nanodet", min_score=LOW, letterbox=False), (2, 2)),
        "nanodet 416 letterbox + 2x2 tiles": lambda: TiledDetector(create_object_detector("nanodet", min_score=LOW, letterbox=True), (2, 2)),
        "centernet 512 stretched (as Human)": lambda: create_object_detector("centernet", min_score=LOW, letterbox=False),
        "centernet 512 letterbox": lambda: create_object_detector("centernet", min_score=LOW, letterbox=True),
    }


def persons(dets: list[Detection], thr: float) -> list[Detection]:
    return [d for d in dets if d.label == "person" and d.score >= thr]


def match(dets: list[Detection], gts: list[BBox], iou: float = 0.5) -> int:
    used = set()
    tp = 0
    for d in sorted(dets, key=lambda d: -d.score):
        best, bi = iou, -1
        for i, g in enumerate(gts):
            if i not in used:
                v = d.box.iou(g)
                if v >= best:
                    best, bi = v, i
        if bi >= 0:
            used.add(bi)
            tp += 1
    return tp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer frames")
    ap.add_argument("--only", default=None, help="comma-separated config names")
    ap.add_argument("--speed-only", action="store_true", help="only the ms/frame table")
    args = ap.parse_args()
    step = 4 if args.quick else 2

    mall = require_data("crowd", "mall")
    mask = cv2.imread(str(mall / "roi_mask.png"), cv2.IMREAD_GRAYSCALE) > 127
    heads = json.loads((mall / "head_points.json").read_text())
    mall_items = []
    for img in sorted(heads)[:: (10**6 if args.speed_only else step)]:
        pts = np.asarray(heads[img], float).reshape(-1, 2)
        inside = sum(1 for x, y in pts if mask[min(int(y), mask.shape[0] - 1), min(int(x), mask.shape[1] - 1)])
        mall_items.append((str(mall / img), inside))

    sh = require_data("crowd", "shanghaitech", "part_B_test")
    with open(sh / "counts.csv") as fh:
        sh_items = [(str(sh / r["image"]), int(r["count"])) for r in csv.DictReader(fh)][: (0 if args.speed_only else None)]
    if args.quick:
        sh_items = sh_items[::3]

    tud = require_data("tracking", "pedestrians", "tud_campus")
    gt: dict[str, list[BBox]] = defaultdict(list)
    with open(tud / "gt.csv") as fh:
        for r in csv.DictReader(fh):
            x, y, w, h = (float(r[k]) for k in ("bb_left", "bb_top", "bb_width", "bb_height"))
            gt[str(tud / r["image"])].append(BBox(x, y, x + w, y + h))
    tud_frames = sorted(str(p) for p in (tud / "frames").glob("*.jpg"))
    if args.quick:
        tud_frames = tud_frames[::2]
    if args.speed_only:
        tud_frames = []

    images = {p: load_image(p) for p, _ in mall_items + sh_items}
    images.update({p: load_image(p) for p in tud_frames})
    base = images[mall_items[0][0]]
    speed_imgs = {"640x480": cv2.resize(base, (640, 480)), "1280x720": cv2.resize(base, (1280, 720))}

    mall_rows, sh_rows, tud_rows, speed_rows = [], [], [], []
    cfgs = configs()
    if args.only:
        cfgs = {k: v for k, v in cfgs.items() if k in args.only.split(",")}
    for name, make in cfgs.items():
        t0 = time.perf_counter()
        try:
            det = make()
        except Exception as exc:  # report and go on: one broken config must not cost the run
            print(f"[{name}: cannot run: {exc}]", file=sys.stderr)
            continue
        run = lambda p: det.detect(images[p], classes=["person"])  # noqa: E731
        mall_d = {p: run(p) for p, _ in mall_items}
        sh_d = {p: run(p) for p, _ in sh_items}
        tud_d = {p: run(p) for p in tud_frames}
        for thr in () if args.speed_only else THRESHOLDS:
            err = [count(persons(mall_d[p], thr), mask=mask, anchor="head") - n for p, n in mall_items]
            mall_rows.append([name, thr, float(np.mean(np.abs(err))), float(np.mean(err)), float(np.mean([n for _, n in mall_items]))])
            err = [len(persons(sh_d[p], thr)) - n for p, n in sh_items]
            rel = [abs(e) / n for e, (_, n) in zip(err, sh_items)]
            sh_rows.append([name, thr, float(np.mean(np.abs(err))), float(np.mean(err)), float(np.mean(rel))])
            tp = fp_n = n_gt = 0
            for p in tud_frames:
                d = persons(tud_d[p], thr)
                m = match(d, gt[p])
                tp, fp_n, n_gt = tp + m, fp_n + len(d), n_gt + len(gt[p])
            tud_rows.append([name, thr, tp / max(n_gt, 1), tp / max(fp_n, 1), 2 * tp / max(n_gt + fp_n, 1)])
        sp = [name]
        for key, img in speed_imgs.items():
            det.detect(img)
            ts = []
            for _ in range(3 if args.quick else 5):
                t = time.perf_counter()
                det.detect(img)
                ts.append((time.perf_counter() - t) * 1000)
            sp.append(float(np.median(ts)))
        speed_rows.append(sp)
        print(f"[{name}: {time.perf_counter() - t0:.0f} s]", file=sys.stderr, flush=True)

    if args.speed_only:
        table(["detector", "ms/frame 640x480", "ms/frame 1280x720"], speed_rows, "Speed (median of repeated runs, shared 2-core machine)")
        return
    table(["detector", "min score", "MAE", "mean error (bias)", "mean true count"], mall_rows,
          f"Person count, crowd/mall ROI ({len(mall_items)} frames)")
    table(["detector", "min score", "MAE", "mean error (bias)", "mean relative error"], sh_rows,
          f"Person count, ShanghaiTech Part B test ({len(sh_items)} images)")
    table(["detector", "min score", "recall", "precision", "F1"], tud_rows,
          f"Person detection, TUD-Campus ({len(tud_frames)} frames, IoU 0.5)")
    table(["detector", "ms/frame 640x480", "ms/frame 1280x720"], speed_rows, "Speed (median of repeated runs, shared 2-core machine)")


if __name__ == "__main__":
    main()
