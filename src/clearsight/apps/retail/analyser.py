"""The `retail` analyser: footfall, dwell, heatmaps and a queue, from anonymous person tracks."""

from __future__ import annotations

from collections.abc import Sequence

from ...rules.events import iso_time, make_event
from ...stream.analysers import AnalyserOutput, FrameView, PluginContext, TextOverlay, register_analyser
from ...stream.config import CameraConfig, CameraConfigError
from ...stream.zones import Zone, build_geometry
from ...types import Event
from .footfall import FootfallCounter
from .heatmap import Heatmap, heatmap_json, write_heatmaps
from .policy import check_face_free
from .queue import QueueMonitor
from .settings import RetailConfig
from .snapshot import FaceBlur, blurred_crop
from .stays import Stay, ZoneStays

FOOTFALL = "retail.footfall"
FOOTFALL_PERIOD = "retail.footfall_hourly"
DWELL = "retail.dwell"
HEATMAP = "retail.heatmap"
QUEUE = "retail.queue"

EMITS = {
    FOOTFALL: "a person crossed an entrance line, in or out",
    FOOTFALL_PERIOD: "in/out totals of an entrance line for one period (an hour by default) that just ended",
    DWELL: "a person's stay in a dwell zone ended, with its length",
    HEATMAP: "occupancy and dwell grids accumulated since the previous heatmap event",
    QUEUE: "a queue zone's length and estimated waiting time (periodic)",
}


def check_names(config: CameraConfig, retail: RetailConfig) -> None:
    """Every line and zone the section names exists on the camera."""
    lines = {ln.name for ln in config.lines}
    zones = {z.name for z in config.zones}
    wanted: list[tuple[str, str, set[str]]] = []
    if retail.footfall is not None:
        wanted += [("line", e.line, lines) for e in retail.footfall.entrances]
        if not retail.footfall.entrances and not lines:
            raise CameraConfigError(f"camera {config.name!r}: retail.footfall needs at least one line in `lines`")
    if retail.dwell is not None:
        wanted += [("zone", z, zones) for z in retail.dwell.zones]
    if retail.queue is not None:
        wanted.append(("zone", retail.queue.zone, zones))
    for kind, name, known in wanted:
        if name not in known:
            raise CameraConfigError(f"camera {config.name!r}: retail names {kind} {name!r}, which the camera does not "
                                    f"have (its {kind}s: {', '.join(sorted(known)) or 'none'})")


class RetailAnalyser:
    name = "retail"

    def __init__(self, camera: CameraConfig, config: RetailConfig, *, snapshots: bool = True,
                 blur: FaceBlur | None = None) -> None:
        check_face_free(camera, "retail")
        check_names(camera, config)
        self.camera = camera
        self.config = config
        self.snapshots = snapshots and config.snapshots and config.queue is not None
        self._blur = blur if blur is not None or not self.snapshots else FaceBlur()
        self._ready = False
        self.footfall: FootfallCounter | None = None
        self.stays: ZoneStays | None = None
        self.heatmap: Heatmap | None = None
        self.queue: QueueMonitor | None = None
        self._heat_total: tuple | None = None
        self._next_heat = 0.0
        self._next_queue = 0.0
        self._size = (0, 0)
        self._queue_confirmed: set[int] = set()
        self._dwell_zones: set[str] = set()
        self._last_t = 0.0

    # -- set-up on the first frame (geometry needs the frame size) ----------------------------------
    def _setup(self, width: int, height: int, t: float) -> None:
        zones, lines = build_geometry(self.camera.zones, self.camera.lines, width, height)
        by_zone = {z.name: z for z in zones}
        by_line = {ln.name: ln for ln in lines}
        c = self.config
        if c.footfall is not None:
            ents = [(by_line[e.line], e.in_direction) for e in c.footfall.entrances] or [(ln, "left_to_right") for ln in lines]
            self.footfall = FootfallCounter(ents, hysteresis_px=c.footfall.hysteresis_px, period_s=c.footfall.period_s)
            self.footfall.roll(t)
        stay_zones: list[Zone] = []
        if c.dwell is not None:
            names = c.dwell.zones or [z.name for z in zones if c.queue is None or z.name != c.queue.zone]
            stay_zones += [by_zone[n] for n in names]
        if c.queue is not None:
            qz = by_zone[c.queue.zone]
            self.queue = QueueMonitor(qz, window_s=c.queue.window_s)
            if qz not in stay_zones:
                stay_zones.append(qz)
            self._next_queue = t + c.queue.every_s
        self._dwell_zones = {z.name for z in stay_zones} - ({c.queue.zone} if c.queue is not None and
                                                             (c.dwell is None or c.queue.zone not in c.dwell.zones) else set())
        if stay_zones:
            mins = ([c.dwell.min_stay_s] if c.dwell else []) + ([c.queue.min_stay_s] if c.queue else [])
            self.stays = ZoneStays(stay_zones, min_stay_s=min(mins))
        if c.heatmap is not None:
            cols, rows = c.heatmap.grid
            self.heatmap = Heatmap(width, height, cols, rows)
            self._next_heat = t + c.heatmap.every_s
        self._size = (width, height)
        self._ready = True

    # -- per frame ------------------------------------------------------------------------------------
    def analyse(self, view: FrameView) -> AnalyserOutput:
        t = view.time
        if not self._ready:
            self._setup(view.frame.width, view.frame.height, t)
        self._last_t = t
        events: list[Event] = []
        cam = view.camera
        people = [tr for tr in view.tracks if tr.obs.label == "person"]
        if self.footfall is not None:
            for start, counts in self.footfall.roll(t):
                events += self._period_events(cam, t, start, counts)
            for tr in people:
                for c in self.footfall.update(tr.track_id, tr.box, t):
                    events.append(make_event(FOOTFALL, cam, t, (tr.track_id,), None, line=c.line, direction=c.direction,
                                             frame=view.frame.index))
        if self.stays is not None:
            for tr in people:
                events += self._stays_done(cam, self.stays.update(tr.track_id, tr.box, t))
        if self.heatmap is not None:
            for tr in people:
                self.heatmap.add(tr.track_id, tr.box, t)
            if t >= self._next_heat:
                events += self._heat_events(cam, t)
        overlays = []
        if self.queue is not None:
            self.queue.observe(t, [tr.box for tr in people])
            for tid, start in self.stays.inside(self.queue.zone.name, t) if self.stays else []:
                if tid not in self._queue_confirmed and t - start >= self.config.queue.min_stay_s:  # type: ignore[union-attr]
                    self._queue_confirmed.add(tid)
                    self.queue.arrived(start)
            if t >= self._next_queue:
                self._next_queue = t + self.config.queue.every_s  # type: ignore[union-attr]
                events.append(self._queue_event(view))
            overlays.append(TextOverlay((10.0, 24.0), f"queue {self.queue.length}"))
        if self.footfall is not None:
            txt = "  ".join(f"{k}: in {v['in']} out {v['out']}" for k, v in self.footfall.totals.items())
            overlays.append(TextOverlay((10.0, 48.0), txt))
        return AnalyserOutput(events=tuple(events), overlays=tuple(overlays))

    def _period_events(self, cam: str, t: float, start: float, counts: dict[str, dict[str, int]]) -> list[Event]:
        period = self.footfall.period_s if self.footfall else 3600.0
        return [make_event(FOOTFALL_PERIOD, cam, t, (), None, line=line, period_start=iso_time(start),
                           period_start_s=start, period_s=period, **{"in": c["in"], "out": c["out"]})
                for line, c in counts.items()]

    def _stays_done(self, cam: str, stays: Sequence[Stay]) -> list[Event]:
        out = []
        for s in stays:
            if self.queue is not None and s.zone == self.queue.zone.name:
                if s.track_id not in self._queue_confirmed:
                    self.queue.arrived(s.start)
                self._queue_confirmed.discard(s.track_id)
                self.queue.departed(s)
            if s.zone in self._dwell_zones:
                out.append(make_event(DWELL, cam, s.end, (s.track_id,), None, zone=s.zone,
                                      duration_s=round(s.duration, 2), start=iso_time(s.start)))
        return out

    def _heat_events(self, cam: str, t: float) -> list[Event]:
        assert self.heatmap is not None and self.config.heatmap is not None
        w, h = self._size
        sec, vis = self.heatmap.take()
        self._next_heat = t + self.config.heatmap.every_s
        if self._heat_total is None:
            self._heat_total = (sec.copy(), vis.copy())
        else:
            self._heat_total = (self._heat_total[0] + sec, self._heat_total[1] + vis)
        if self.config.heatmap.directory:
            write_heatmaps(self.config.heatmap.directory, cam, *self._heat_total, w, h)
        occ = heatmap_json(sec, kind="occupancy", unit="person_seconds", width=w, height=h)
        return [make_event(HEATMAP, cam, t, (), None, occupancy=occ, visits=vis.tolist())]

    def _queue_event(self, view: FrameView) -> Event:
        assert self.queue is not None
        st = self.queue.state(view.time)
        snap = blurred_crop(view.frame.image, self.queue.zone.polygon, self._blur) if self.snapshots and self._blur else None
        return make_event(QUEUE, view.camera, view.time, (), snap, zone=self.queue.zone.name, **st.to_dict())

    def end_track(self, track_id: int, t: float) -> list[Event]:
        events: list[Event] = []
        if self.footfall is not None:
            self.footfall.end_track(track_id)
        if self.stays is not None:
            events += self._stays_done(self.camera.name, self.stays.end_track(track_id))
        if self.heatmap is not None:
            self.heatmap.end_track(track_id)
        return events

    def close(self) -> None:
        """Write the cumulative heatmaps a last time (events cannot be emitted after the stream ends)."""
        if self.heatmap is not None and self.config.heatmap is not None and self.config.heatmap.directory:
            sec, vis = self.heatmap.take()
            total = (sec, vis) if self._heat_total is None else (self._heat_total[0] + sec, self._heat_total[1] + vis)
            self._heat_total = total
            write_heatmaps(self.config.heatmap.directory, self.camera.name, *total, *self._size)

    def heat_totals(self):  # noqa: ANN201 - (seconds, visits) arrays or None
        if self.heatmap is None:
            return None
        sec, vis = self.heatmap.seconds, self.heatmap.visits
        return (sec, vis) if self._heat_total is None else (self._heat_total[0] + sec, self._heat_total[1] + vis)


def _retail(config: RetailConfig, ctx: PluginContext) -> RetailAnalyser:
    return RetailAnalyser(ctx.config, config, snapshots=ctx.snapshots)


register_analyser("retail", _retail, RetailConfig, emits=EMITS,
                  description="Footfall per entrance, dwell per zone, heatmaps and queue waits, from anonymous people.",
                  check_camera=lambda camera: check_face_free(camera, "retail"))

