"""Tracking accuracy against MOTChallenge-style ground truth (MOTA, IDF1 via `motmetrics`).

Used by `bench/video.py` and the tests to measure the detector + ByteTrack stack
on TUD-Campus with the same code the pipeline runs.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..io.video import open_source
from .config import TrackConfig
from .detectors import StageDetector
from .tracking import Tracker

Row = tuple[int, int, float, float, float, float]  # frame (1-based), id, x, y, w, h


def read_mot_csv(path: str | Path) -> list[Row]:
    """`gt.csv` (with a header naming frame,id,bb_left,...) or a headerless MOT `gt.txt`."""
    rows: list[Row] = []
    with open(path, newline="") as f:
        sample = f.readline()
        f.seek(0)
        if any(c.isalpha() for c in sample):
            for r in csv.DictReader(f):
                rows.append((int(float(r["frame"])), int(float(r["id"])), float(r["bb_left"]), float(r["bb_top"]),
                             float(r["bb_width"]), float(r["bb_height"])))
        else:
            for r in csv.reader(f):
                rows.append((int(float(r[0])), int(float(r[1])), *(float(v) for v in r[2:6])))  # type: ignore[misc]
    return rows


def track_video(source: str | Path, detector: StageDetector, config: TrackConfig | None = None, fps: float | None = None) -> list[Row]:
    """Detect + track every frame; rows use 1-based frame numbers like MOT ground truth."""
    src = open_source(source, fps=fps)
    trk = Tracker(config or TrackConfig(), fps=src.fps or fps or 25.0)
    rows: list[Row] = []
    for frame in src:
        for tr in trk.update(detector.detect(frame.image), frame.pts):
            b = tr.box
            rows.append((frame.index + 1, tr.track_id, b.x1, b.y1, b.width, b.height))
    return rows


def _iou_distance(a: np.ndarray, b: np.ndarray, iou_threshold: float) -> np.ndarray:
    """1 - IoU of xywh boxes, NaN (no match allowed) below the threshold (motmetrics' own
    helper uses a NumPy API removed in 2.0)."""
    if a.size == 0 or b.size == 0:
        return np.empty((len(a), len(b)))
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, 0, None], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, 1, None], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    iou = inter / np.maximum(union, 1e-9)
    d = 1.0 - iou
    d[iou < iou_threshold] = np.nan
    return d


def mot_scores(pred: Iterable[Row], gt: Iterable[Row], iou_threshold: float = 0.5) -> dict[str, float]:
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=False)
    by_frame_gt: dict[int, list[Row]] = {}
    by_frame_pr: dict[int, list[Row]] = {}
    for r in gt:
        by_frame_gt.setdefault(r[0], []).append(r)
    for r in pred:
        by_frame_pr.setdefault(r[0], []).append(r)
    for fr in sorted(set(by_frame_gt) | set(by_frame_pr)):
        g = by_frame_gt.get(fr, [])
        p = by_frame_pr.get(fr, [])
        dist = _iou_distance(np.array([r[2:] for r in g], dtype=np.float64).reshape(-1, 4),
                             np.array([r[2:] for r in p], dtype=np.float64).reshape(-1, 4), iou_threshold)
        acc.update([r[1] for r in g], [r[1] for r in p], dist, frameid=fr)
    mh = mm.metrics.create()
    s = mh.compute(acc, metrics=["mota", "motp", "idf1", "num_switches", "precision", "recall", "mostly_tracked", "num_unique_objects"], name="x")
    return {k: float(s.loc["x", k]) for k in s.columns}





def track_detection_rows(dets: Iterable[tuple[int, float, float, float, float, float]], config: TrackConfig | None = None,
                         fps: float = 25.0, score_scale: float = 1.0) -> list[Row]:
    """Track precomputed detections (frame, x, y, w, h, score): the tracker alone, as MOTChallenge's
    public-detection protocol measures it. `score_scale` maps the detector's scores to 0..1."""
    from ..types import BBox
    from .detectors import Observation

    by_frame: dict[int, list[Observation]] = {}
    for fr, x, y, w, h, sc in dets:
        by_frame.setdefault(int(fr), []).append(Observation(BBox(x, y, x + w, y + h), float(min(1.0, max(0.0, sc * score_scale))), "person"))
    trk = Tracker(config or TrackConfig(), fps=fps)
    rows: list[Row] = []
    for fr in range(1, max(by_frame, default=0) + 1):
        for tr in trk.update(by_frame.get(fr, []), fr / fps):
            b = tr.box
            rows.append((fr, tr.track_id, b.x1, b.y1, b.width, b.height))
    return rows


def read_mot_detections(path: str | Path) -> list[tuple[int, float, float, float, float, float]]:
    out = []
    with open(path, newline="") as f:
        for r in csv.reader(f):
            out.append((int(float(r[0])), float(r[2]), float(r[3]), float(r[4]), float(r[5]), float(r[6])))
    return out


__all__ = ["mot_scores", "read_mot_csv", "read_mot_detections", "track_detection_rows", "track_video"]
