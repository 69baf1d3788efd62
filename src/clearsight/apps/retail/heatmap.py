"""Occupancy and dwell heatmaps on a coarse grid of the floor, as JSON and PNG.

Occupancy is person-seconds per cell (where people are); dwell is the mean length
of one visit to a cell (where people stop: a corridor has high occupancy and short
visits, a shelf people read has long ones). Both are accumulated from the feet of
anonymous tracks; the PNG is a colour map of the grid alone, never drawn over a
camera frame, so it cannot show anyone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ...stream.zones import anchor_point
from ...types import BBox

MAX_STEP_S = 2.0  # a gap longer than this (a stall, a lost track) is not counted as presence


@dataclass
class Heatmap:
    """Person-seconds and visits per cell of a `cols` x `rows` grid over a `width` x `height` frame."""

    width: int
    height: int
    cols: int = 32
    rows: int = 24
    seconds: np.ndarray = field(init=False)
    visits: np.ndarray = field(init=False)
    _cell: dict[int, tuple[int, int]] = field(default_factory=dict)
    _last_t: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.seconds = np.zeros((self.rows, self.cols), np.float64)
        self.visits = np.zeros((self.rows, self.cols), np.int64)

    def cell(self, box: BBox) -> tuple[int, int]:
        x, y = anchor_point(box, "bottom")
        c = int(np.clip(x / self.width * self.cols, 0, self.cols - 1))
        r = int(np.clip(y / self.height * self.rows, 0, self.rows - 1))
        return r, c

    def add(self, track_id: int, box: BBox, t: float) -> None:
        rc = self.cell(box)
        prev_t = self._last_t.get(track_id)
        if prev_t is not None and 0 < t - prev_t <= MAX_STEP_S:
            self.seconds[self._cell[track_id]] += t - prev_t  # the time since the last sighting, where it was then
        if self._cell.get(track_id) != rc:
            self.visits[rc] += 1
        self._cell[track_id] = rc
        self._last_t[track_id] = t

    def end_track(self, track_id: int) -> None:
        self._cell.pop(track_id, None)
        self._last_t.pop(track_id, None)

    def dwell(self) -> np.ndarray:
        """Mean seconds per visit, 0 where nobody went."""
        return np.divide(self.seconds, self.visits, out=np.zeros_like(self.seconds), where=self.visits > 0)

    def take(self) -> tuple[np.ndarray, np.ndarray]:
        """(seconds, visits) accumulated so far, and start again (tracks in progress keep their cell)."""
        s, v = self.seconds.copy(), self.visits.copy()
        self.seconds[:] = 0
        self.visits[:] = 0
        return s, v


def heatmap_json(grid: np.ndarray, *, kind: str, unit: str, width: int, height: int, decimals: int = 2) -> dict[str, Any]:
    """The grid as plain JSON: rows top to bottom, the frame size the cells divide."""
    return {"kind": kind, "unit": unit, "frame": [int(width), int(height)], "cols": int(grid.shape[1]),
            "rows": int(grid.shape[0]), "max": round(float(grid.max()) if grid.size else 0.0, decimals),
            "grid": np.round(grid, decimals).tolist()}


def heatmap_png(grid: np.ndarray, size: tuple[int, int]) -> bytes:
    """A colour map (TURBO, black where zero) of `grid` scaled to `size` (width, height), PNG-encoded."""
    g = np.asarray(grid, np.float64)
    top = float(g.max()) if g.size else 0.0
    norm = np.zeros(g.shape, np.uint8) if top <= 0 else np.clip(g / top * 255.0, 0, 255).astype(np.uint8)
    big = cv2.resize(norm, (int(size[0]), int(size[1])), interpolation=cv2.INTER_NEAREST)
    colour = cv2.applyColorMap(big, cv2.COLORMAP_TURBO)
    colour[big == 0] = 0
    ok, buf = cv2.imencode(".png", colour)
    if not ok:  # pragma: no cover - encoding a uint8 BGR image does not fail
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def write_heatmaps(directory: str | Path, camera: str, seconds: np.ndarray, visits: np.ndarray, width: int,
                   height: int) -> dict[str, Path]:
    """`<camera>-occupancy.{png,json}` and `<camera>-dwell.{png,json}` in `directory`; returns the paths."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    dwell = np.divide(seconds, visits, out=np.zeros_like(seconds, dtype=np.float64), where=visits > 0)
    out: dict[str, Path] = {}
    for kind, grid, unit in (("occupancy", seconds, "person_seconds"), ("dwell", dwell, "seconds_per_visit")):
        js = d / f"{camera}-{kind}.json"
        js.write_text(json.dumps(heatmap_json(grid, kind=kind, unit=unit, width=width, height=height)))
        png = d / f"{camera}-{kind}.png"
        png.write_bytes(heatmap_png(grid, (width, height)))
        out[f"{kind}_json"], out[f"{kind}_png"] = js, png
    return out
