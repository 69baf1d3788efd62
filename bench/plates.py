"""Licence plates, end to end from the full photo and on plate crops, with the peers
a user would pick instead, in the same run:

- openalpr EU (108 photos) and BR (52 photos), end to end: our licence-clean default
  (`ocr`: vehicle box -> PP-OCRv4 -> format rules) with the country given and with
  `auto`; the opt-in AGPL `platedet` reader; the peer "rapidocr alone" (RapidOCR's
  stock pipeline on the full photo, every text line normalised to A-Z0-9).
- CCPD (16 plates + 6 no-plate photos), end to end: `clpr` (country cn and auto) vs
  `hyperlpr2` (its stock SSD pipeline).
- CN crops (1,000 LPRNet 94x24 crops): `clpr` reader vs hyperlpr2's recogniser.
- US crops (200 openalpr crops): `ocr` reader with US rules vs rapidocr alone.

Scoring. A photo is read when a read whose box centre lies in the ground-truth plate
box (grown by half its size) has the ground-truth text. "exact" compares the texts
as they are; "folded" treats O/0/Q and I/1 as one symbol, because the openalpr
ground truth itself is inconsistent there (Croatian "RKO99AN" next to "RK019AF").
Error classes per system: `missed` (no read at the plate: for `ocr` split into
plate outside every vehicle box / text line found but rejected by the format rules /
no text line found), `confusion` (a read at the plate with the wrong text), and
`other reads` (reads away from the labelled plate: false reads or unlabelled plates).
Timings are ms per photo on the shared 2-core machine.

    .venv/bin/python bench/plates.py [--limit N] [--sets eu,br,ccpd,cn,us] [--show-errors]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import require_data, table  # noqa: E402

from clearsight.io import load_image  # noqa: E402
from clearsight.types import BBox  # noqa: E402
from clearsight.vision.plates import PlateRead, create_plate_reader, read_plates  # noqa: E402
from clearsight.vision.plates.formats import fold, normalise  # noqa: E402


@dataclass
class Tally:
    n: int = 0
    exact: int = 0
    folded: int = 0
    missed: int = 0
    confusion: int = 0
    other_reads: int = 0
    ms: list[float] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def row(self, name: str) -> list[object]:
        pct = lambda k: f"{k}/{self.n} ({100 * k / max(self.n, 1):.1f}%)"  # noqa: E731
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.kinds.items())) or "-"
        return [name, pct(self.exact), pct(self.folded), self.missed, self.confusion, kinds, self.other_reads, float(np.median(self.ms)) if self.ms else float("nan")]


HYPERLPR_PYTHON = ""
SYSTEMS = {"ours", "auto", "platedet", "peer"}
HEADERS = ["system", "exact", "folded O/0 I/1", "missed", "confusion", "missed by class", "other reads", "ms/photo (median)"]


def at_plate(read_box: BBox, gt: BBox) -> bool:
    cx, cy = read_box.center
    g = gt.scaled(1.5)
    return g.x1 <= cx <= g.x2 and g.y1 <= cy <= g.y2


def score(t: Tally, reads: list[tuple[str, BBox]], gt_text: str, gt_box: BBox | None, label: str, ms: float, miss_kind: str = "") -> None:
    t.ms.append(ms)
    if gt_box is None:  # a no-plate photo: every read is a false read
        t.other_reads += len(reads)
        if reads:
            t.errors.append(f"{label}: false reads {[x for x, _ in reads]} on a no-plate photo")
        return
    t.n += 1
    here = [txt for txt, b in reads if at_plate(b, gt_box)]
    t.other_reads += len(reads) - len(here)
    if gt_text in here:
        t.exact += 1
    if fold(gt_text) in {fold(x) for x in here}:
        t.folded += 1
        return
    if here:
        t.confusion += 1
        t.errors.append(f"{label}: confusion {here} vs {gt_text}")
    else:
        t.missed += 1
        t.kinds[miss_kind or "no read"] += 1
        t.errors.append(f"{label}: missed {gt_text} ({miss_kind or 'no read'})")


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1000


def as_pairs(reads: list[PlateRead]) -> list[tuple[str, BBox]]:
    return [(r.text, r.box) for r in reads]


# ------------------------------------------------------------------ peers
class RapidOcrAlone:
    """RapidOCR's stock pipeline (PP-OCRv4, default settings) on the whole image."""

    def __init__(self) -> None:
        from clearsight.vision.text_lines import shared_ocr

        self._ocr = shared_ocr()
        from rapidocr_onnxruntime import RapidOCR

        self._stock = RapidOCR()

    def lines(self, rgb: np.ndarray) -> list[tuple[str, BBox, float]]:
        res, _ = self._stock(np.ascontiguousarray(rgb[:, :, ::-1]))
        out = []
        for quad, text, conf in res or []:
            q = np.asarray(quad, np.float32)
            out.append((normalise(text), BBox(float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())), float(conf)))
        return [x for x in out if x[0]]

    def read_crop(self, rgb: np.ndarray) -> str:
        """Best line of the crop (or the recogniser alone when no line is detected)."""
        lines = self.lines(rgb)
        if lines:
            return max(lines, key=lambda x: x[2])[0]
        texts, _ = self._stock.text_rec([np.ascontiguousarray(rgb[:, :, ::-1])])
        return normalise(texts[0][0])


_HYPERLPR_WORKER = r"""
import json, sys, time
import cv2, numpy as np
import hyperlpr2
pr = hyperlpr2.PR
for line in sys.stdin:
    mode, path = line.rstrip("\n").split("\t", 1)
    img = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    t0 = time.perf_counter()
    if mode == "crop":
        text, conf = pr.segmentation_free_recognition(img)
        out = [[text, float(conf), [0, 0, img.shape[1], img.shape[0]]]]
    else:
        out = [[t, float(c), [float(v) for v in b]] for t, c, b in pr.plate_recognition(img)]
    print(json.dumps({"reads": out, "ms": (time.perf_counter() - t0) * 1000}), flush=True)
"""


class HyperLpr:
    """hyperlpr2 2.0.0 in its own interpreter: its Caffe models need OpenCV 4's
    `cv2.dnn.readNetFromCaffe`, which OpenCV 5 (ours) removed. Pass a Python that has
    hyperlpr2 + opencv-python-headless 4.x with --hyperlpr-python."""

    def __init__(self, python: str) -> None:
        import subprocess

        if not python or not Path(python).exists():
            raise RuntimeError("no --hyperlpr-python given (a Python with hyperlpr2==2.0.0 and opencv-python-headless 4.x)")
        self._proc = subprocess.Popen([python, "-c", _HYPERLPR_WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def _ask(self, mode: str, path: Path) -> tuple[list, float]:
        import json

        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(f"{mode}\t{path}\n")
        self._proc.stdin.flush()
        ans = json.loads(self._proc.stdout.readline())
        return ans["reads"], ans["ms"]

    def read(self, path: Path) -> tuple[list[tuple[str, BBox]], float]:
        reads, ms = self._ask("photo", path)
        return [(t, BBox(*b)) for t, c, b in reads if c > 0.6], ms

    def read_crop(self, path: Path) -> tuple[str, float]:
        reads, ms = self._ask("crop", path)
        return reads[0][0], ms


def _optional(name: str, make: Callable[[], object]) -> object | None:
    try:
        return make()
    except Exception as exc:  # a peer or opt-in reader that is not installed is reported, not fatal
        print(f"({name} not measured: {exc})")
        return None


# ------------------------------------------------------------------ sets
def openalpr_rows(country: str, limit: int | None) -> list[dict[str, str]]:
    base = require_data("plates", "openalpr")
    rows = [r for r in csv.DictReader(open(base / "endtoend_groundtruth.csv")) if r["country"] == country]
    return rows[:limit] if limit else rows


def bench_latin(country: str, limit: int | None, show: bool) -> None:
    base = require_data("plates", "openalpr")
    rows = openalpr_rows(country, limit)
    ours = create_plate_reader("ocr", country=country)
    platedet = _optional("platedet (opt-in AGPL)", lambda: create_plate_reader("platedet", country=country)) if "platedet" in SYSTEMS else None
    peer = RapidOcrAlone()
    tallies = {k: Tally() for k in ("ours", "auto", "platedet", "peer")}
    for r in rows:
        rgb = load_image(base / r["image"])
        gt = BBox(float(r["plate_x"]), float(r["plate_y"]), float(r["plate_x"]) + float(r["plate_w"]), float(r["plate_y"]) + float(r["plate_h"]))
        text, label = r["plate_text"], r["image"]
        if "ours" in SYSTEMS:
            trace, ms = timed(lambda: ours.trace(rgb))
            score(tallies["ours"], as_pairs(trace.reads), text, gt, label, ms, _miss_kind(trace, gt))
        if "auto" in SYSTEMS:
            reads, ms = timed(lambda: read_plates(rgb, country="auto"))
            score(tallies["auto"], as_pairs(reads), text, gt, label, ms)
        if platedet is not None:
            reads, ms = timed(lambda: platedet.read(rgb))
            score(tallies["platedet"], as_pairs(reads), text, gt, label, ms)
        if "peer" in SYSTEMS:
            lines, ms = timed(lambda: peer.lines(rgb))
            score(tallies["peer"], [(t, b) for t, b, _ in lines], text, gt, label, ms)
    names = {
        "ours": f"ours: ocr reader, country={country} (default, Apache-2.0)",
        "auto": "ours: read_plates(country=auto) (clpr + ocr)",
        "platedet": f"opt-in: platedet (AGPL-3.0) + PP-OCRv4 rec, country={country}",
        "peer": "peer: rapidocr alone, full photo",
    }
    table(HEADERS, [tallies[k].row(names[k]) for k in names if tallies[k].n], f"openalpr {country.upper()} end to end ({len(rows)} photos)")
    if show:
        for k in ("ours", "auto", "platedet"):
            if tallies[k].n:
                print(f"\n{k} errors:", *tallies[k].errors, sep="\n  ")


def _miss_kind(trace: object, gt: BBox) -> str:
    if not any(reg.x1 <= gt.center[0] <= reg.x2 and reg.y1 <= gt.center[1] <= reg.y2 for reg in trace.regions):  # type: ignore[attr-defined]
        return "outside vehicle boxes"
    rej = [raw for b, raw, _ in trace.rejected if at_plate(b, gt)]  # type: ignore[attr-defined]
    return "format rejection" if rej else "no text line"


def bench_ccpd(limit: int | None, show: bool) -> None:
    base = require_data("plates", "chinese_ccpd_samples")
    rows = list(csv.DictReader(open(base / "labels.csv", encoding="utf-8")))
    if limit:
        rows = [r for r in rows if r["has_plate"] == "1"][:limit] + [r for r in rows if r["has_plate"] == "0"]
    clpr = create_plate_reader("clpr")
    hyper = _optional("hyperlpr2", lambda: HyperLpr(HYPERLPR_PYTHON))
    tallies = {k: Tally() for k in ("ours", "auto", "peer")}
    for r in rows:
        rgb = load_image(base / r["image"])
        has = r["has_plate"] == "1"
        gt = BBox(*(float(r[k]) for k in ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2"))) if has else None
        text = r["plate_text"]
        reads, ms = timed(lambda: clpr.read(rgb))
        score(tallies["ours"], as_pairs(reads), text, gt, r["image"], ms)
        reads, ms = timed(lambda: read_plates(rgb, country="auto"))
        score(tallies["auto"], as_pairs(reads), text, gt, r["image"], ms)
        if hyper is not None:
            reads, ms = hyper.read(base / r["image"])
            score(tallies["peer"], reads, text, gt, r["image"], ms)
    n_pos = sum(r["has_plate"] == "1" for r in rows)
    names = {"ours": "ours: clpr (country=cn)", "auto": "ours: read_plates(country=auto)", "peer": "peer: hyperlpr2 2.0.0"}
    table(HEADERS, [tallies[k].row(names[k]) for k in names if tallies[k].n], f"CCPD end to end ({n_pos} plates + {len(rows) - n_pos} no-plate photos; 'other reads' include reads on no-plate photos)")
    if show:
        for k in names:
            print(f"\n{k} errors:", *tallies[k].errors, sep="\n  ")


def bench_cn_crops(limit: int | None, show: bool) -> None:
    base = require_data("plates", "chinese_lprnet_crops")
    rows = list(csv.DictReader(open(base / "labels.csv", encoding="utf-8")))[: limit or None]
    clpr = create_plate_reader("clpr")
    hyper = _optional("hyperlpr2", lambda: HyperLpr(HYPERLPR_PYTHON))
    t_ours, t_peer = Tally(), Tally()
    for r in rows:
        rgb = load_image(base / r["image"])
        read, ms = timed(lambda: clpr.read_crop(rgb))
        crop_score(t_ours, read.text if read else "", r["plate_text"], r["image"], ms)
        if hyper is not None:
            text, ms = hyper.read_crop(base / r["image"])
            crop_score(t_peer, text, r["plate_text"], r["image"], ms)
    table(HEADERS, [t.row(n) for t, n in ((t_ours, "ours: clpr reader (warp 168x48, CTC)"), (t_peer, "peer: hyperlpr2 recogniser")) if t.n], f"CN crops ({len(rows)} LPRNet crops, 94x24)")
    if show:
        print("\nours errors:", *t_ours.errors, sep="\n  ")


def crop_score(t: Tally, text: str, gt: str, label: str, ms: float) -> None:
    t.n += 1
    t.ms.append(ms)
    t.exact += text == gt
    if fold(text) == fold(gt):
        t.folded += 1
    elif text:
        t.confusion += 1
        t.errors.append(f"{label}: {text} vs {gt}")
    else:
        t.missed += 1
        t.kinds["no read / format rejection"] += 1
        t.errors.append(f"{label}: nothing vs {gt}")


def bench_us_crops(limit: int | None, show: bool) -> None:
    base = require_data("plates", "openalpr")
    rows = list(csv.DictReader(open(base / "seg_and_ocr_groundtruth.csv")))[: limit or None]
    ours = create_plate_reader("ocr", country="us")
    peer = RapidOcrAlone()
    t_ours, t_peer = Tally(), Tally()
    for r in rows:
        rgb = load_image(base / r["image"])
        read, ms = timed(lambda: ours.read_crop(rgb))
        crop_score(t_ours, read.text if read else "", r["plate_text"], r["image"], ms)
        text, ms = timed(lambda: peer.read_crop(rgb))
        crop_score(t_peer, text, r["plate_text"], r["image"], ms)
    table(HEADERS, [t.row(n) for t, n in ((t_ours, "ours: ocr reader, US rules"), (t_peer, "peer: rapidocr alone (best line)"))], f"US crops ({len(rows)} openalpr crops)")
    if show:
        print("\nours errors:", *t_ours.errors, sep="\n  ")


SETS = {"eu": lambda a: bench_latin("eu", a.limit, a.show_errors), "br": lambda a: bench_latin("br", a.limit, a.show_errors),
        "ccpd": lambda a: bench_ccpd(a.limit, a.show_errors), "cn": lambda a: bench_cn_crops(a.limit and a.limit * 10, a.show_errors),
        "us": lambda a: bench_us_crops(a.limit, a.show_errors)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="first N photos per set (crops: 10N for CN)")
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated: " + ", ".join(SETS))
    ap.add_argument("--show-errors", action="store_true")
    ap.add_argument("--systems", default="ours,auto,platedet,peer", help="EU/BR: which of ours, auto, platedet, peer to run")
    ap.add_argument("--hyperlpr-python", default="/tmp/hyperlpr-venv/bin/python", help="a Python with hyperlpr2==2.0.0 + opencv-python-headless 4.x (the CN peer)")
    args = ap.parse_args()
    global HYPERLPR_PYTHON, SYSTEMS
    HYPERLPR_PYTHON = args.hyperlpr_python
    SYSTEMS = set(args.systems.split(","))
    for name in args.sets.split(","):
        SETS[name.strip()](args)


if __name__ == "__main__":
    main()
