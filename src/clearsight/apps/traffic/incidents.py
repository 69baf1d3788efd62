"""The `traffic` analyser: per-class line counts, speeds, and the incidents an administrator sets per zone.

Incidents fire once per track and zone stay (a car that stops for ten minutes is
one `vehicle.stopped`, not 6,000), carry the zone's name as `zone` (so a rule can
select it), the track's class by vote, its speed when known, and a snapshot.
Congestion is a state of a zone, not of a track: `traffic.congestion` with
`state: start` when the condition has held `hold_s`, and `state: end` when it has
been gone as long.

Positions are the bottom centre of the box (where the wheels or feet touch the
road) mapped to the ground by the calibration. Without one, each track's pixels
are scaled by its own box height against a nominal object height: good enough to
tell standing from moving and to find a direction, not to enforce a speed limit,
so speed rules refuse to load without a calibration.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ...errors import InputError
from ...rules.events import make_event
from ...stream.analysers import AnalyserOutput, FrameView, PluginContext, PolygonOverlay, TextOverlay
from ...stream.calibration import GroundMap
from ...stream.zones import Line, Zone, anchor_point, build_geometry
from ...types import BBox, Event
from .config import CongestionConfig, TrafficConfig, ZoneRules
from .motion import TrackMotion, track_label

KMH = 3.6
NOMINAL_HEIGHT_M = {"person": 1.7, "bicycle": 1.6, "motorcycle": 1.4, "car": 1.5, "bus": 3.0, "truck": 3.0}

EMITS = {
    "traffic.crossing": "A tracked road user crossed a counting line: class, direction and speed.",
    "traffic.count": "Per counting line and interval: crossings per class and direction.",
    "vehicle.speed": "Once per vehicle track when it ends: its median and top speed over the ground.",
    "vehicle.stopped": "A vehicle has stood still in a zone for the zone's `stopped_after_s`.",
    "vehicle.wrong_way": "A vehicle moves against a zone's allowed direction.",
    "vehicle.speeding": "A vehicle is faster than the zone's (or the camera's) speed limit.",
    "traffic.congestion": "A zone became congested (state start) or cleared (state end), by occupancy or speed.",
    "pedestrian.in_roadway": "A person has been in a roadway zone for `pedestrian_min_s`.",
}


@dataclass
class _Stay:
    """One track's stay in one zone: what has fired during it."""

    since: float
    fired: set[str] = field(default_factory=set)


@dataclass
class _Run:
    """Since when a track has been going against a zone's arrow / over its limit (in the zone or not yet)."""

    wrong_since: float | None = None
    fast_since: float | None = None


@dataclass
class _ZoneState:
    congested_since: float | None = None  # the condition has held since
    clear_since: float | None = None  # congested, and the condition has been gone since
    active: bool = False
    started: float = 0.0


class TrafficAnalyser:
    name = "traffic"

    def __init__(self, config: TrafficConfig, ctx: PluginContext) -> None:
        self.config = config
        self.camera = ctx.camera
        self.snapshots = config.snapshots and ctx.snapshots
        zone_names = {z.name for z in ctx.config.zones}
        line_names = {ln.name for ln in ctx.config.lines}
        unknown = sorted(set(config.zones) - zone_names)
        if unknown:
            raise InputError(f"traffic: zones {unknown} are not zones of camera {ctx.camera!r} (its zones: "
                             f"{sorted(zone_names) or 'none'})")
        if config.count_lines is not None:
            bad = sorted(set(config.count_lines) - line_names)
            if bad:
                raise InputError(f"traffic: count_lines {bad} are not lines of camera {ctx.camera!r} (its lines: "
                                 f"{sorted(line_names) or 'none'})")
        self._zone_cfgs = [z for z in ctx.config.zones if z.name in config.zones]
        self._line_cfgs = [ln for ln in ctx.config.lines if config.count_lines is None or ln.name in config.count_lines]
        self._vehicles = set(config.vehicle_classes)
        self._people = set(config.pedestrian_classes)
        self._history_s = max(3.0, 2 * config.speed_window_s)
        self.ground: GroundMap | None = None
        self.zones: list[Zone] = []
        self.lines: list[Line] = []
        self._arrows: dict[str, np.ndarray] = {}  # zone -> unit vector on the ground
        self._arrow_px: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {}
        self.tracks: dict[int, TrackMotion] = {}
        self._heights: dict[int, float] = {}
        self._stays: dict[tuple[str, int], _Stay] = {}
        self._runs: dict[tuple[str, int], _Run] = {}
        self._zstate: dict[str, _ZoneState] = {}
        self._counts: dict[str, collections.Counter[tuple[str, str]]] = {}
        self.totals: dict[str, collections.Counter[str]] = {}
        self._interval_start: float | None = None
        self._size: tuple[int, int] | None = None

    # -- set-up on the first frame (the frame size is known only then) ---------------------------
    def _setup(self, width: int, height: int) -> None:
        self._size = (width, height)
        cal = self.config.calibration
        self.ground = cal.fit((width, height)) if cal is not None else None  # CalibrationError names the point
        self.zones, _ = build_geometry(self._zone_cfgs, [], width, height)
        _, self.lines = build_geometry([], self._line_cfgs, width, height)
        for zc in self._zone_cfgs:
            rules = self.config.zones[zc.name]
            if rules.direction is None:
                continue
            a, b = (np.asarray(p, dtype=np.float64) for p in rules.direction)
            if zc.normalized:
                a, b = a * (width, height), b * (width, height)
            self._arrow_px[zc.name] = (tuple(a), tuple(b))  # type: ignore[assignment]
            if self.ground is not None:
                ga, gb = self.ground.to_ground(np.array([a, b]))
                vec = gb - ga
            else:
                vec = b - a
            self._arrows[zc.name] = vec / max(float(np.hypot(*vec)), 1e-9)
        self._zstate = {z.name: _ZoneState() for z in self.zones}
        self._counts = {ln.name: collections.Counter() for ln in self.lines}
        self.totals = {ln.name: collections.Counter() for ln in self.lines}

    # -- per frame ------------------------------------------------------------------------------
    def analyse(self, view: FrameView) -> AnalyserOutput:
        frame = view.frame
        t = view.time
        if self._size is None:
            self._setup(frame.width, frame.height)
        if self._interval_start is None:
            self._interval_start = t
        c = self.config
        events: list[Event] = []
        labels: dict[int, str] = {}
        window = c.speed_window_s
        for tr in view.tracks:
            label = track_label(tr)
            m = self.tracks.get(tr.track_id)
            if m is None:
                m = self.tracks[tr.track_id] = TrackMotion(tr.track_id, self._history_s)
            anchor = anchor_point(tr.box, "bottom")
            prev_anchor = m.anchor
            m.votes[label] += 1
            m.add(t, self._to_ground(tr.track_id, anchor, tr.box, m.label), anchor)
            cls = m.label
            vel = m.velocity(window)
            speed = None if vel is None else math.hypot(*vel)
            if speed is not None:
                m.speeds.append(speed)
            is_vehicle = cls in self._vehicles
            if is_vehicle:
                m.update_still(t, speed, c.still_speed_kmh / KMH, c.still_radius_m, window)
            if speed is not None and (is_vehicle or cls in self._people):
                labels[tr.track_id] = f"{cls} {speed * KMH:.0f} km/h" if self.ground is not None else cls
            else:
                labels[tr.track_id] = cls
            if prev_anchor is not None:
                events.extend(self._crossings(tr.track_id, cls, prev_anchor, anchor, speed, t))
            for z in self.zones:
                events.extend(self._zone_rules(view, tr.track_id, tr.box, m, z, anchor, vel, speed, is_vehicle, t))
        events.extend(self._congestion(view, t))
        if t - self._interval_start >= c.count_interval_s:
            events.extend(self._emit_counts(t))
        return AnalyserOutput(tuple(events), labels, self._overlays())

    def _to_ground(self, tid: int, anchor: tuple[float, float], box: BBox, cls: str) -> tuple[float, float]:
        if self.ground is not None:
            g = self.ground.to_ground(np.array([anchor]))[0]
            return float(g[0]), float(g[1])
        # no calibration: metres from the object's own height; smoothed so a box that flickers does not move the track
        h = self._heights.get(tid)
        h = box.height if h is None else 0.9 * h + 0.1 * box.height
        self._heights[tid] = h
        mpp = NOMINAL_HEIGHT_M.get(cls, 1.5) / max(h, 1.0)
        return anchor[0] * mpp, anchor[1] * mpp

    # -- lines ----------------------------------------------------------------------------------
    def _crossings(self, tid: int, cls: str, p0: tuple[float, float], p1: tuple[float, float], speed: float | None,
                   t: float) -> list[Event]:
        out = []
        for ln in self.lines:
            d = ln.crossed(p0, p1)
            if not d:
                continue
            direction = "left_to_right" if d > 0 else "right_to_left"
            self._counts[ln.name][(cls, direction)] += 1
            self.totals[ln.name][cls] += 1
            out.append(make_event("traffic.crossing", self.camera, t, (tid,), None, zone=ln.name, line=ln.name,
                                  **{"class": cls}, direction=direction,
                                  speed_kmh=None if speed is None or self.ground is None else round(speed * KMH, 1)))
        return out

    def _emit_counts(self, t: float) -> list[Event]:
        out = []
        start = self._interval_start or t
        for name, counter in self._counts.items():
            per_class: dict[str, int] = collections.Counter()
            by_dir: dict[str, dict[str, int]] = {}
            for (cls, direction), n in counter.items():
                per_class[cls] += n
                by_dir.setdefault(direction, {})[cls] = n
            out.append(make_event("traffic.count", self.camera, t, (), None, zone=name, line=name,
                                  interval_s=round(t - start, 3), counts=dict(per_class), by_direction=by_dir,
                                  total=sum(per_class.values())))
            counter.clear()
        self._interval_start = t
        return out

    # -- zones ----------------------------------------------------------------------------------
    def _zone_rules(self, view: FrameView, tid: int, box: BBox, m: TrackMotion, z: Zone, anchor: tuple[float, float],
                    vel: tuple[float, float] | None, speed: float | None, is_vehicle: bool, t: float) -> list[Event]:
        rules: ZoneRules = self.config.zones[z.name]
        key = (z.name, tid)
        c = self.config
        # the conditions run whether or not the track is in the zone yet: a car already speeding (or going the
        # wrong way) when it enters is an incident at the moment it enters, not `confirm_s` later
        run = self._runs.setdefault(key, _Run())
        arrow = self._arrows.get(z.name)
        against = (arrow is not None and vel is not None and speed is not None
                   and speed >= max(c.wrong_way_min_speed_kmh / KMH, 1e-6) and float(np.dot(vel, arrow)) / speed < -0.5)
        run.wrong_since = (run.wrong_since if run.wrong_since is not None else t) if against else None
        limit = rules.speed_limit_kmh or c.speed_limit_kmh
        fast = limit is not None and self.ground is not None and speed is not None and speed * KMH > limit
        run.fast_since = (run.fast_since if run.fast_since is not None else t) if fast else None
        inside = z.contains(anchor)
        stay = self._stays.get(key)
        if not inside:
            if stay is not None:
                del self._stays[key]
            return []
        if stay is None:
            stay = self._stays[key] = _Stay(t)
        out: list[Event] = []
        cls = m.label

        def fire(etype: str, **data: object) -> None:
            stay.fired.add(etype)
            snap = _crop(view.frame.image, box) if self.snapshots else None
            out.append(make_event(etype, self.camera, t, (tid,), snap, zone=z.name, **{"class": cls},
                                  box=box.to_dict(), **data))

        if is_vehicle:
            if rules.stopped_after_s is not None and "vehicle.stopped" not in stay.fired:
                since = m.still_since
                if since is not None and t - max(since, stay.since) >= rules.stopped_after_s:
                    fire("vehicle.stopped", duration_s=round(t - max(since, stay.since), 2),
                         stopped_after_s=rules.stopped_after_s)
            if run.wrong_since is not None and t - run.wrong_since >= c.confirm_s and "vehicle.wrong_way" not in stay.fired:
                assert vel is not None and speed is not None and arrow is not None
                fire("vehicle.wrong_way", speed_kmh=round(speed * KMH, 1) if self.ground is not None else None,
                     cosine=round(float(np.dot(vel, arrow)) / speed, 3))
            if run.fast_since is not None and t - run.fast_since >= c.confirm_s and "vehicle.speeding" not in stay.fired:
                assert speed is not None
                fire("vehicle.speeding", speed_kmh=round(speed * KMH, 1), limit_kmh=limit)
        elif cls in self._people and rules.roadway and "pedestrian.in_roadway" not in stay.fired:
            if t - stay.since >= c.pedestrian_min_s:
                fire("pedestrian.in_roadway", duration_s=round(t - stay.since, 2))
        return out

    def _congestion(self, view: FrameView, t: float) -> list[Event]:
        out = []
        recent = 1.0  # a vehicle missed by the detector for a frame or two is still in the queue
        for z in self.zones:
            cc: CongestionConfig | None = self.config.zones[z.name].congestion
            if cc is None:
                continue
            inside = [self.tracks[tid] for (zn, tid) in self._stays if zn == z.name and tid in self.tracks
                      and t - self.tracks[tid].last_t <= recent and self.tracks[tid].label in self._vehicles]
            occ = len(inside)
            speeds = [s for m in inside if (v := m.velocity(self.config.speed_window_s)) is not None
                      for s in [math.hypot(*v)]]
            mean_kmh = float(np.mean(speeds)) * KMH if speeds else None
            full = cc.min_vehicles is not None and occ >= cc.min_vehicles
            slow = (cc.max_speed_kmh is not None and occ >= cc.min_vehicles_for_speed and mean_kmh is not None
                    and mean_kmh <= cc.max_speed_kmh)
            cond = full or slow
            st = self._zstate[z.name]
            data = {"zone": z.name, "occupancy": occ,
                    "mean_speed_kmh": round(mean_kmh, 1) if mean_kmh is not None and self.ground is not None else None}
            if cond:
                st.clear_since = None
                if st.congested_since is None:
                    # fitted speeds describe the middle of their window: a zone that is slow now became slow then
                    st.congested_since = t if full else t - self.config.speed_window_s / 2.0
                if not st.active and t - st.congested_since >= cc.hold_s:
                    st.active, st.started = True, t
                    snap = _crop(view.frame.image, _poly_box(z.polygon)) if self.snapshots else None
                    out.append(make_event("traffic.congestion", self.camera, t, tuple(m.track_id for m in inside),
                                          snap, state="start", **data))
            else:
                st.congested_since = None
                if st.active:
                    if st.clear_since is None:
                        st.clear_since = t
                    if t - st.clear_since >= cc.hold_s:
                        st.active = False
                        out.append(make_event("traffic.congestion", self.camera, t, (), None, state="end",
                                              duration_s=round(t - st.started, 2), **data))
        return out

    def _overlays(self) -> tuple[PolygonOverlay | TextOverlay, ...]:
        arrows = tuple(PolygonOverlay((a, b), "allowed", (80, 220, 80), closed=False) for a, b in self._arrow_px.values())
        texts = tuple(TextOverlay((10.0, 20.0 + 18 * i), f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(tot.items())),
                                  (255, 255, 255)) for i, (name, tot) in enumerate(self.totals.items()))
        return arrows + texts

    # -- track end ------------------------------------------------------------------------------
    def end_track(self, track_id: int, t: float) -> Sequence[Event]:
        m = self.tracks.pop(track_id, None)
        self._heights.pop(track_id, None)
        for key in [k for k in self._stays if k[1] == track_id]:
            del self._stays[key]
        for key in [k for k in self._runs if k[1] == track_id]:
            del self._runs[key]
        if m is None or not m.speeds or m.label not in self._vehicles:
            return []
        s = np.asarray(m.speeds) * KMH
        return [make_event("vehicle.speed", self.camera, t, (track_id,), None, **{"class": m.label},
                           median_kmh=round(float(np.median(s)), 1), max_kmh=round(float(s.max()), 1),
                           calibrated=self.ground is not None)]

    def close(self) -> None:
        self.tracks.clear()


def _poly_box(poly: np.ndarray) -> BBox:
    return BBox(float(poly[:, 0].min()), float(poly[:, 1].min()), float(poly[:, 0].max()), float(poly[:, 1].max()))


def _crop(rgb: np.ndarray, box: BBox, grow: float = 1.2) -> np.ndarray:
    b = box.scaled(grow).clip(rgb.shape[1], rgb.shape[0])
    return np.ascontiguousarray(rgb[int(b.y1): int(b.y2), int(b.x1): int(b.x2)])


__all__ = ["EMITS", "TrafficAnalyser"]
