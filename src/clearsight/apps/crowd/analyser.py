"""The crowd analyser: per zone, counts over time, flow, and incidents.

Sparse or dense, per zone and per moment: while the detector can separate people
(fewer than `cluster.dense_people` in the zone) everything comes from tracks
(positions, velocities, stillness); when it cannot, counts come from the density
model fused with the tracks' heads (`clearsight.vision.crowd.CombinedCounter`),
flow from dense optical flow, and stationary clusters from density where the flow
is low. The density model costs ~1 s per frame at its reduced size, so it runs at
most every `count.density_every_s`; optical flow runs at 320 px on every analysed
frame (a few ms) only when flow is enabled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ...rules.events import make_event
from ...stream.analysers import AnalyserOutput, FrameView, PluginContext, PolygonOverlay, TextOverlay
from ...stream.zones import build_geometry
from ...types import Event
from ...vision.crowd import CombinedCounter, DensityMap, calibrated_regions
from .incidents import (
    COUNT, COUNTER_FLOW, FLOW, OVERCROWDED, RUNNING, ClusterWatch, DenseClusterWatch, Emitted, Hold, RunningWatch,
)
from .motion import DenseFlow, Sample, TrackMotion, ZoneFlow, flow_from_tracks
from .settings import CrowdSettings

FRAME_ZONE = "frame"


@dataclass
class _Zone:
    name: str
    polygon: np.ndarray | None  # None: the whole frame
    mask: np.ndarray  # bool, image size
    capacity: int | None
    clusters: ClusterWatch
    dense_clusters: DenseClusterWatch
    running: RunningWatch
    counter: Hold
    crowded: Hold
    count: float = 0.0
    method: str = "detector"
    dense: bool = False
    density_ratio: float | None = None  # fused count / tracked people at the last density run
    density_extra: float = 0.0  # fused count - tracked people at the last density run (sparse zones)
    flow: ZoneFlow | None = None
    last_count_t: float | None = None
    last_flow_t: float | None = None
    small_mask: np.ndarray | None = field(default=None)

    def contains(self, x: float, y: float) -> bool:
        h, w = self.mask.shape
        xi, yi = int(min(max(x, 0), w - 1)), int(min(max(y, 0), h - 1))
        return bool(self.mask[yi, xi])


class CrowdAnalyser:
    name = "crowd"

    def __init__(self, settings: CrowdSettings, ctx: PluginContext | None = None, *, camera: str | None = None,
                 zones: list | None = None, counter: CombinedCounter | None = None) -> None:
        self.s = settings
        self.camera = camera or (ctx.camera if ctx else "camera")
        self._zone_configs = zones if zones is not None else (list(ctx.config.zones) if ctx else [])
        self.capacities = {c.zone: c.capacity for c in settings.capacities}
        known = {z.name for z in self._zone_configs} | {FRAME_ZONE}
        unknown = sorted(set(self.capacities) - known)
        if unknown:
            from ...errors import InputError

            raise InputError(f"crowd capacities name unknown zone(s) {unknown}; zones are {sorted(known)}")
        self._counter = counter
        self.zones: list[_Zone] = []
        self.motions: dict[int, TrackMotion] = {}
        self.flow = DenseFlow(settings.flow.flow_max_side) if settings.flow.enabled else None
        self.density: DensityMap | None = None
        self.density_t: float | None = None
        self.still_cells: np.ndarray | None = None  # low-flow time per density cell

    # -- set-up on the first frame (zones need the frame size) ------------------------
    def _setup(self, h: int, w: int) -> None:
        zs, _ = build_geometry(self._zone_configs, [], w, h)
        c = self.s
        def make(name: str, poly: np.ndarray | None) -> _Zone:
            mask = np.ones((h, w), bool)
            if poly is not None:
                m = np.zeros((h, w), np.uint8)
                cv2.fillPoly(m, [np.round(poly).astype(np.int32).reshape(-1, 1, 2)], 1)
                mask = m.astype(bool)
            return _Zone(name, poly, mask, self.capacities.get(name), ClusterWatch(c.cluster, name),
                         DenseClusterWatch(c.cluster, name), RunningWatch(c.running, c.flow.hold_s),
                         Hold(c.flow.hold_s), Hold(c.overcrowded_hold_s))
        self.zones = [make(z.name, z.polygon) for z in zs] or [make(FRAME_ZONE, None)]

    @property
    def counter(self) -> CombinedCounter:
        if self._counter is None:
            self._counter = CombinedCounter(max_side=self.s.count.density_max_side)
        return self._counter

    # -- per frame ------------------------------------------------------------------------
    def analyse(self, view: FrameView) -> AnalyserOutput:
        if not self.s.enabled:
            return AnalyserOutput()
        rgb, t = view.frame.image, view.time
        if not self.zones:
            self._setup(*rgb.shape[:2])
        people = [tr for tr in view.tracks if tr.obs.label == "person"]
        for tr in people:
            b = tr.box
            self.motions.setdefault(tr.track_id, TrackMotion()).add(Sample(t, (b.x1 + b.x2) / 2, b.y2, b.height))
        live = {tr.track_id for tr in people}
        if self.flow is not None:
            self.flow.update(rgb, t)
        density_due = self.s.count.density and (self.density_t is None or t - self.density_t >= self.s.count.density_every_s)
        if density_due:
            self.density = self.counter.density.estimator.estimate(rgb)
            self.density_t = t
        events: list[Event] = []
        overlays: list = []
        for z in self.zones:
            inside = [tr for tr in people if z.contains((tr.box.x1 + tr.box.x2) / 2, tr.box.y2)]
            self._count(z, inside, t, density_due)
            emitted: list[Emitted] = []
            emitted += self._flow(z, inside, t)
            emitted += self._clusters(z, inside, t)
            if z.capacity is not None and z.crowded.update(t, z.count > z.capacity):
                emitted.append((OVERCROWDED, {"zone": z.name, "count": round(z.count, 1), "capacity": z.capacity,
                                              "method": z.method}, tuple(tr.track_id for tr in inside)))
            if z.last_count_t is None or t - z.last_count_t >= self.s.count.every_s:
                z.last_count_t = t
                emitted.append((COUNT, {"zone": z.name, "count": round(z.count, 2), "method": z.method,
                                        "tracked": len(inside), "dense": z.dense}, ()))
            if z.flow is not None and self.s.flow.enabled and (z.last_flow_t is None or t - z.last_flow_t >= self.s.flow.every_s):
                z.last_flow_t = t
                emitted.append((FLOW, {"zone": z.name, **z.flow.to_dict()}, ()))
            for etype, data, tids in emitted:
                events.append(make_event(etype, self.camera, t, tids, None, frame=view.frame.index, **data))
            label = f"{z.name}: {z.count:.0f}" + (f" {z.flow.direction_deg:.0f}deg" if z.flow and z.flow.direction_deg is not None else "")
            if z.polygon is not None:
                overlays.append(PolygonOverlay(tuple(map(tuple, z.polygon.tolist())), label, (255, 160, 0)))
            else:
                overlays.append(TextOverlay((10.0, 20.0), label))
        for tid in [tid for tid in self.motions if tid not in live and t - self.motions[tid].last.t > 5.0]:
            del self.motions[tid]
        return AnalyserOutput(events=tuple(events), overlays=tuple(overlays))

    def _count(self, z: _Zone, inside: list, t: float, density_due: bool) -> None:
        tracked = len(inside)
        if density_due and self.density is not None:
            heads = np.array([((tr.box.x1 + tr.box.x2) / 2, tr.box.y1 + 0.1 * tr.box.height) for tr in inside]).reshape(-1, 2)
            c = self.counter.fuse(self.density, heads, z.mask)
            z.count, z.method = c.count, c.method
            z.density_ratio = c.count / tracked if tracked else None
            z.density_extra = max(0.0, c.count - tracked)
            z.dense = c.count > self.s.cluster.dense_people
        elif z.dense and z.density_ratio is not None and tracked:
            z.count = tracked * z.density_ratio  # between density runs: scale the tracks by the last ratio
        elif not z.dense:
            # sparse: the tracks plus the people the last density run saw beyond them (a seated
            # or half-hidden person the detector keeps missing), so the series does not jump
            # between fused and detector-only values at every density run
            z.count = float(tracked) + z.density_extra
            z.method = "fused" if z.density_extra > 0 else "detector"

    def _flow(self, z: _Zone, inside: list, t: float) -> list[Emitted]:
        f = self.s.flow
        if not f.enabled:
            return []
        dense = z.dense or len(inside) >= f.sparse_below
        fast = 0
        if not dense:
            vels = []
            for tr in inside:
                m = self.motions[tr.track_id]
                v = m.velocity()
                if v is not None:
                    vels.append((v[0], v[1], m.height()))
                    if np.hypot(*v) / max(m.height(), 1) >= self.s.running.min_speed:
                        fast += 1
            z.flow = flow_from_tracks(vels, f.min_speed)
            counter_on = (z.flow.counter >= f.counter_flow_min_people and z.flow.counter_fraction >= f.counter_flow_fraction)
        else:
            if self.flow is None or self.flow.field is None:
                return []
            fh, fw = self.flow.field.shape[:2]
            if z.small_mask is None or z.small_mask.shape != (fh, fw):
                z.small_mask = cv2.resize(z.mask.astype(np.uint8), (fw, fh), interpolation=cv2.INTER_NEAREST).astype(bool)
            h_px = self._person_height(inside) or 0.1 * z.mask.shape[0]
            z.flow = self.flow.zone_flow(z.small_mask, f.min_speed * h_px)
            counter_on = z.flow.counter_fraction >= f.counter_flow_fraction and z.flow.moving > 50
        out: list[Emitted] = []
        if z.counter.update(t, counter_on):
            out.append((COUNTER_FLOW, {"zone": z.name, **z.flow.to_dict()}, tuple(tr.track_id for tr in inside)))
        speed = z.flow.speed if z.flow.moving else 0.0
        run = z.running.update(t, speed, fast, absolute=not dense)
        if run is not None:
            out.append((RUNNING, {"zone": z.name, "unit": z.flow.unit, "source": z.flow.source, **run},
                        tuple(tr.track_id for tr in inside)))
        return out

    def _clusters(self, z: _Zone, inside: list, t: float) -> list[Emitted]:
        c = self.s.cluster
        if not z.dense:
            positions = {tr.track_id: self.motions[tr.track_id].last for tr in inside}
            pts = {tid: (s.x, s.y) for tid, s in positions.items()}
            still = {tid: since for tid in pts if (since := self.motions[tid].still_since(c.max_speed)) is not None}
            return z.clusters.update(t, pts, still)
        if self.density is None or self.flow is None or self.flow.field is None:
            return []
        # density regions of CELL x CELL map cells; low flow where the speed stays below the threshold
        cell = self.counter.density.cell
        people = calibrated_regions(self.density, z.mask, cell, self.counter.density.scale, self.counter.density.gamma)
        H, W = z.mask.shape
        cell_px = 8 * cell * W / self.density.input_size[1]
        speed = np.linalg.norm(self.flow.field, axis=2)
        h_px = self._person_height(inside) or 0.1 * H
        still = cv2.resize((speed < c.max_speed * h_px).astype(np.float32), (people.shape[1], people.shape[0]),
                           interpolation=cv2.INTER_AREA) > 0.8
        return z.dense_clusters.update(t, people, still.astype(np.float32), cell_px)

    def _person_height(self, inside: list) -> float | None:
        hs = [tr.box.height for tr in inside]
        return float(np.median(hs)) if hs else None

    def end_track(self, track_id: int, t: float) -> list[Event]:
        self.motions.pop(track_id, None)
        return []

    def close(self) -> None:
        self.motions.clear()
