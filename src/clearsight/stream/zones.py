"""Zones (polygons) and lines, in pixels or normalised coordinates, and the events
a track's movement through them produces: `zone.enter`, `zone.exit` (with the
stay's duration), `zone.dwell` (once per stay, after `dwell_s`), `line.cross`
(with direction).

A track is placed by one anchor point: the box centre for faces, the bottom
centre (feet on the ground) for people, where a floor-drawn zone means something.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..types import BBox
from .config import LineConfig, ZoneConfig


def anchor_point(box: BBox, anchor: str) -> tuple[float, float]:
    if anchor == "bottom":
        return ((box.x1 + box.x2) / 2.0, box.y2)
    return box.center


@dataclass
class Zone:
    name: str
    polygon: np.ndarray  # (N, 2) float32, pixels
    dwell_s: float | None = None
    anchor: str | None = None

    def contains(self, pt: tuple[float, float]) -> bool:
        return cv2.pointPolygonTest(self.polygon.reshape(-1, 1, 2), (float(pt[0]), float(pt[1])), False) >= 0


@dataclass
class Line:
    name: str
    a: np.ndarray
    b: np.ndarray
    anchor: str | None = None

    def side(self, p: tuple[float, float]) -> float:
        return float((self.b[0] - self.a[0]) * (p[1] - self.a[1]) - (self.b[1] - self.a[1]) * (p[0] - self.a[0]))

    def crossed(self, p0: tuple[float, float], p1: tuple[float, float]) -> int:
        """+1 crossing from the line's left to its right (looking from a to b), -1 the other way, 0 none."""
        s0, s1 = self.side(p0), self.side(p1)
        if s0 == 0 or s1 == 0 or (s0 > 0) == (s1 > 0):
            return 0
        # the movement segment must cross the line segment itself, not its extension
        d0 = _orient(p0, p1, self.a)
        d1 = _orient(p0, p1, self.b)
        if (d0 > 0) == (d1 > 0) and d0 != 0 and d1 != 0:
            return 0
        return 1 if s1 > 0 else -1


def _orient(p: tuple[float, float], q: tuple[float, float], r: np.ndarray) -> float:
    return float((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))


def build_geometry(zones: list[ZoneConfig], lines: list[LineConfig], width: int, height: int) -> tuple[list[Zone], list[Line]]:
    scale = np.array([width, height], dtype=np.float32)
    zs = []
    for z in zones:
        poly = np.asarray(z.polygon, dtype=np.float32)
        zs.append(Zone(z.name, poly * scale if z.normalized else poly, z.dwell_s, z.anchor))
    ls = []
    for ln in lines:
        pts = np.asarray(ln.points, dtype=np.float32)
        if ln.normalized:
            pts = pts * scale
        ls.append(Line(ln.name, pts[0], pts[1], ln.anchor))
    return zs, ls


@dataclass
class _Stay:
    since: float
    dwell_reported: bool = False


@dataclass
class GeometryMonitor:
    """Per-track state against zones and lines; returns (event type, track id, data) tuples."""

    zones: list[Zone]
    lines: list[Line]
    default_anchor: str = "center"
    _inside: dict[tuple[str, int], _Stay] = field(default_factory=dict)
    _last_pt: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)

    def update(self, track_id: int, box: BBox, t: float) -> list[tuple[str, dict]]:
        out: list[tuple[str, dict]] = []
        for z in self.zones:
            pt = anchor_point(box, z.anchor or self.default_anchor)
            key = (z.name, track_id)
            inside = z.contains(pt)
            stay = self._inside.get(key)
            if inside and stay is None:
                self._inside[key] = _Stay(t)
                out.append(("zone.enter", {"zone": z.name, "point": [round(pt[0], 1), round(pt[1], 1)]}))
            elif not inside and stay is not None:
                del self._inside[key]
                out.append(("zone.exit", {"zone": z.name, "duration_s": round(t - stay.since, 3), "reason": "left"}))
            elif inside and stay is not None and z.dwell_s is not None and not stay.dwell_reported and t - stay.since >= z.dwell_s:
                stay.dwell_reported = True
                out.append(("zone.dwell", {"zone": z.name, "duration_s": round(t - stay.since, 3), "dwell_s": z.dwell_s}))
        for ln in self.lines:
            pt = anchor_point(box, ln.anchor or self.default_anchor)
            key = (ln.name, track_id)
            prev = self._last_pt.get(key)
            self._last_pt[key] = pt
            if prev is not None:
                d = ln.crossed(prev, pt)
                if d:
                    out.append(("line.cross", {"zone": ln.name, "line": ln.name, "direction": "left_to_right" if d > 0 else "right_to_left"}))
        return out

    def end_track(self, track_id: int, t: float) -> list[tuple[str, dict]]:
        out = []
        for (zname, tid), stay in list(self._inside.items()):
            if tid == track_id:
                del self._inside[(zname, tid)]
                out.append(("zone.exit", {"zone": zname, "duration_s": round(t - stay.since, 3), "reason": "track_lost"}))
        for key in [k for k in self._last_pt if k[1] == track_id]:
            del self._last_pt[key]
        return out

    def occupancy(self) -> dict[str, int]:
        counts = {z.name: 0 for z in self.zones}
        for zname, _ in self._inside:
            counts[zname] += 1
        return counts
