"""Plates on video: one read per track by voting over frames, against one frame alone.

The clips are COMPOSED: each openalpr EU/BR photo (real cars, real plates, ground truth)
becomes a short clip of a car seen by a street camera, frame by frame: a random shift
(up to 4% of the frame), a downscale (0.55-1.0: the plate is smaller, as further away),
horizontal motion blur (1-7 px), sensor noise (sigma 0-6) and JPEG compression (quality
35-80), each drawn per frame with a fixed seed. The vehicle box is the whole frame
(openalpr photos are framed on one car). Every frame goes through the real `plates`
analyser (`apps.plates.analyser.PlateAnalyser`, licence-clean default reader for the
country, store off), which keeps the most confident read per vehicle and frame.

Compared, on the same per-frame reads, in the same run:
- `one frame`: each frame's read on its own (the mean over frames): what a system that
  reads a single snapshot per vehicle gets, on average;
- `most confident frame`: per track, the read with the highest reader confidence
  (the usual "keep the best read" peer);
- `vote` (ours): per-character vote weighted by confidence over the track's reads.

"exact" compares A-Z0-9 texts; "folded" treats O/0/Q and I/1 as one symbol (the
openalpr ground truth itself mixes them). Timings: ms per frame read, shared 2-core
machine (up to 6 helpers running).

    .venv/bin/python bench/plates_video.py [--frames 5] [--limit 30] [--offset 0] [--sets eu,br]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import require_data, table  # noqa: E402

from clearsight.apps.plates.analyser import PLATE_READ, PlateAnalyser, PlatesConfig  # noqa: E402
from clearsight.apps.plates.voting import vote  # noqa: E402
from clearsight.io import load_image  # noqa: E402
from clearsight.io.video import Frame  # noqa: E402
from clearsight.stream.analysers import FrameView  # noqa: E402
from clearsight.stream.detectors import Observation  # noqa: E402
from clearsight.stream.tracking import Tracked  # noqa: E402
from clearsight.types import BBox  # noqa: E402
from clearsight.vision.plates.formats import fold, normalise  # noqa: E402


def degrade(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = rng.uniform(0.55, 1.0)
    small = cv2.resize(rgb, (max(16, int(w * s)), max(16, int(h * s))), interpolation=cv2.INTER_AREA)
    canvas = np.full_like(rgb, 90)
    dx = int(rng.uniform(-0.04, 0.04) * w + (w - small.shape[1]) / 2)
    dy = int(rng.uniform(-0.04, 0.04) * h + (h - small.shape[0]) / 2)
    x0, y0 = max(0, dx), max(0, dy)
    sx, sy = x0 - dx, y0 - dy
    cw, ch = min(w - x0, small.shape[1] - sx), min(h - y0, small.shape[0] - sy)
    canvas[y0:y0 + ch, x0:x0 + cw] = small[sy:sy + ch, sx:sx + cw]
    k = int(rng.integers(1, 8))
    if k > 1:
        canvas = cv2.filter2D(canvas, -1, np.full((1, k), 1.0 / k, np.float32))
    noise = rng.normal(0, rng.uniform(0, 6), canvas.shape)
    canvas = np.clip(canvas.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, format="JPEG", quality=int(rng.integers(35, 81)))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def run_set(country: str, frames: int, limit: int | None, seed: int, dump: list | None = None,
            offset: int = 0) -> list[list[object]]:
    base = require_data("plates", "openalpr")
    rows = [r for r in csv.DictReader(open(base / "endtoend_groundtruth.csv")) if r["country"] == country]
    rows = rows[offset:offset + limit] if limit else rows[offset:]
    cfg = PlatesConfig(country=country, every_n_frames=1, min_votes=frames + 1, max_reads_per_track=frames,
                       min_vehicle_width=0, min_confidence=0.0, store=False)
    analyser = PlateAnalyser("bench", cfg, snapshots=False)
    tally = {k: [0, 0] for k in ("one frame", "most confident frame", "vote")}  # exact, folded
    n_frames, ms = 0, []
    for i, r in enumerate(rows):
        truth = normalise(r["plate_text"])
        rgb = load_image(base / r["image"])
        rng = np.random.default_rng(seed + i)
        tid = i + 1
        emitted = []
        for f in range(frames):
            img = degrade(rgb, rng)
            h, w = img.shape[:2]
            view = FrameView("bench", Frame(img, f, f / 10, 1e9 + f / 10, "bench"),
                             (Tracked(tid, Observation(BBox(0, 0, w, h), 0.9, "car")),), (), True)
            t0 = time.perf_counter()
            emitted += analyser.analyse(view).events
            ms.append((time.perf_counter() - t0) * 1000)
        reads = list(analyser.votes._reads.get(tid, []))  # the per-frame reads the vote saw
        emitted += analyser.end_track(tid, 1e9 + 1)
        voted = next((e.data["text"] for e in emitted if e.type == PLATE_READ), "")
        assert not reads or voted == vote(reads).text
        n_frames += frames
        if dump is not None:
            dump.append({"set": country, "image": r["image"], "truth": truth, "vote": voted,
                         "reads": [(v.text, round(v.confidence, 4), v.country) for v in reads]})
        per_frame = [normalise(v.text) for v in reads] + [""] * (frames - len(reads))
        tally["one frame"][0] += sum(t == truth for t in per_frame)
        tally["one frame"][1] += sum(fold(t) == fold(truth) for t in per_frame)
        best = max(reads, key=lambda v: v.confidence).text if reads else ""
        for name, text in (("most confident frame", best), ("vote", voted)):
            tally[name][0] += text == truth
            tally[name][1] += fold(text) == fold(truth)
    n = len(rows)
    out = []
    for name, (ex, fo) in tally.items():
        denom = n_frames if name == "one frame" else n
        who = "ours" if name == "vote" else "peer"
        out.append([f"{country.upper()}", f"{who}: {name}", denom, f"{ex / denom:.1%}", f"{fo / denom:.1%}",
                    f"{np.median(ms):.0f}"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=5, help="frames per composed clip (one track each)")
    ap.add_argument("--limit", type=int, default=30, help="photos per set (0: all)")
    ap.add_argument("--sets", default="eu,br")
    ap.add_argument("--offset", type=int, default=0, help="skip this many photos per set (held-out checks)")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--dump", type=Path, help="write every track's per-frame reads to this JSON file")
    a = ap.parse_args()
    rows: list[list[object]] = []
    dump: list | None = [] if a.dump else None
    for c in a.sets.split(","):
        rows += run_set(c.strip(), a.frames, a.limit or None, a.seed, dump, a.offset)
    if a.dump:
        import json

        a.dump.write_text(json.dumps(dump, indent=1, ensure_ascii=False))
    table(["set", "system", "reads scored", "exact", "folded", "ms/frame (median)"], rows,
          f"Plates on composed clips: {a.frames} degraded frames per real photo, one track each")


if __name__ == "__main__":
    main()
