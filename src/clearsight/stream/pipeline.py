"""The per-camera pipeline: source -> detect (every N frames) -> track -> zones/lines
-> analysers (plug-ins: recognition, watchlist, ...) -> events -> rules -> sinks;
optionally frame filters (plug-ins: redaction) and an annotated output (file and live preview).

One `CameraPipeline` is one camera; it runs in the caller's thread (`run`) so the
same object serves the CLI, a thread in the service's camera manager and a Ray
actor. Events are the only output that matters for automation; the annotated
frame is for people.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import ClearsightError, InputError
from ..io.video import Frame, VideoSource, open_source
from ..rules import events as ev
from ..rules.sinks import EventRouter, Sink
from ..types import Event
from .analysers import EMPTY_OUTPUT, Analyser, AnalyserOutput, FrameFilter, FrameView, PluginContext, plugin_spec
from .annotate import Annotator
from .config import CameraConfig, CameraConfigError
from .detectors import Observation, StageDetector, create_stage_detector
from .recognition import Identifier, RecognitionAnalyser
from .tracking import NoTracker, Tracked, Tracker
from .zones import GeometryMonitor, build_geometry

if TYPE_CHECKING:
    from ..gallery import Gallery

EventSelection = Literal["all", "none"] | list[str]


def _crop(rgb: np.ndarray, obs: Observation, grow: float = 1.3) -> np.ndarray:
    b = obs.box.scaled(grow).clip(rgb.shape[1], rgb.shape[0])
    return np.ascontiguousarray(rgb[int(b.y1): int(b.y2), int(b.x1): int(b.x2)])


def _free_name(taken: Mapping[str, object], base: str) -> str:
    """`base`, or `base-2`, `base-3` ...: an extra sink (the CLI's `-e` file) beside a same-typed sink
    of the camera file; rules address only the camera file's sinks, so the extra one's name is free."""
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


@dataclass
class RunSummary:
    camera: str
    frames: int = 0  # frames processed
    detections_run: int = 0
    dropped: int = 0  # frames the source skipped so processing kept up
    duration_s: float = 0.0
    tracks: int = 0
    events: dict[str, int] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    filters: dict[str, dict[str, int]] = field(default_factory=dict)  # per frame filter: its counters

    @property
    def fps(self) -> float:
        return self.frames / self.duration_s if self.duration_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "camera": self.camera, "frames": self.frames, "detections_run": self.detections_run, "dropped": self.dropped,
            "duration_s": round(self.duration_s, 3), "fps": round(self.fps, 2), "tracks": self.tracks,
            "events": dict(self.events), "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "error": self.error,
        } | ({"filters": {k: dict(v) for k, v in self.filters.items()}} if self.filters else {})


class CameraPipeline:
    """One camera: the core stages plus the analysers and filters its camera file asks for.

    Plug-ins are looked up by section name in `stream.analysers`; the app modules
    that provide them must have been imported (the composition root,
    `clearsight.apps.compose`, does that), otherwise a camera that asks for one is
    refused with a message that says so. `analysers` / `filters` add ready-made
    instances on top of the configured ones; `identifiers` replaces the gallery
    search of named plug-ins (`identifier` / `watchlist_identifier` are the
    historical spellings for "recognize" / "watchlist").
    """

    def __init__(
        self,
        config: CameraConfig,
        *,
        gallery: Gallery | None = None,
        router: EventRouter | None = None,
        extra_sinks: Sequence[tuple[Sink, EventSelection]] = (),
        output_path: str | None = None,
        source: VideoSource | None = None,
        detector: StageDetector | None = None,
        identifier: Identifier | None = None,
        watchlist_identifier: Identifier | None = None,
        identifiers: Mapping[str, Identifier] | None = None,
        analysers: Sequence[Analyser] = (),
        filters: Sequence[FrameFilter] = (),
        keep_preview: bool = False,
        annotator: Annotator | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self._gallery = gallery
        self.output_path = output_path or config.output.path
        self._source = source
        self.detector = detector or create_stage_detector(
            config.detect.detector, min_score=config.detect.min_score, max_side=config.detect.max_side, **config.detect.options
        )
        named = dict(identifiers or {})
        if identifier is not None:
            named.setdefault("recognize", identifier)
        if watchlist_identifier is not None:
            named.setdefault("watchlist", watchlist_identifier)
        ctx = PluginContext(config, self._open_gallery, named)
        self.analysers: list[Analyser] = list(analysers)
        self.filters: list[FrameFilter] = list(filters)
        for section_name, section in config.plugin_sections():
            spec = plugin_spec(section_name)
            if spec is None:
                raise CameraConfigError(
                    f"camera {self.name!r} uses {section_name!r}, which no loaded plug-in provides; build pipelines "
                    "through clearsight.apps.compose (it loads the app plug-ins)")
            plugin = spec.factory(spec.parse(section), ctx)
            if spec.kind == "filter":
                self.filters.append(plugin)  # type: ignore[arg-type]
            else:
                self.analysers.append(plugin)  # type: ignore[arg-type]
        # sinks last: they open files, connections and threads, which a refused camera must not leave behind
        self.router = router or EventRouter.from_config(config.rules, config.sinks)
        for sink, sel in extra_sinks:
            self.router.add_sink(sink, sel, _free_name(self.router.sinks, sink.name))
        self.annotator = annotator or Annotator()
        self.keep_preview = keep_preview
        self.latest: np.ndarray | None = None  # last output frame (annotated/redacted), for live view
        self.latest_time: float = 0.0
        self._stop = threading.Event()
        self.summary = RunSummary(self.name)
        self._outputs: list[AnalyserOutput] = [EMPTY_OUTPUT] * len(self.analysers)  # the latest, per analyser
        self._started: dict[int, tuple[float, str]] = {}  # track id -> (first seen, label): for `track.end`
        self.running = False
        self._active_source: VideoSource | None = None
        # where events sit in the source (`Event.offset_s`, `Event.frame`): the wall time of offset 0
        # (the first frame) and the frame being processed
        self._origin: float | None = None
        self._at: tuple[float, float, int] | None = None  # (frame.time, offset_s, frame.index)

    # -- parts ------------------------------------------------------------------
    @property
    def gallery(self) -> Gallery:
        return self._open_gallery()

    def _open_gallery(self) -> Gallery:
        if self._gallery is None:
            try:
                from ..gallery import Gallery
            except ImportError as exc:
                raise InputError(f"camera {self.name!r} needs the identity gallery, which is not available: {exc}") from None
            self._gallery = Gallery.open()
        return self._gallery

    @property
    def redactor(self) -> FrameFilter | None:
        """The first frame filter (historically the only one: redaction)."""
        return self.filters[0] if self.filters else None

    def _open_source(self) -> VideoSource:
        o = self.config.source_options
        r = o.reconnect
        kwargs: dict[str, Any] = {}
        src = self.config.source
        if isinstance(src, int) or (isinstance(src, str) and (src.startswith(("rtsp", "http", "udp", "tcp", "srt", "webcam:", "/dev/video")) or src.isdigit())):
            kwargs = {"timeout_s": r.timeout_s, "backoff_initial": r.backoff_initial_s, "backoff_max": r.backoff_max_s}
        return open_source(src, name=self.name, realtime=o.realtime, drop=o.drop, fps=o.fps, backend=o.backend,
                           loop=o.loop, max_attempts=r.max_attempts, on_status=self._on_status, **kwargs)

    def _on_status(self, kind: str, info: dict[str, Any]) -> None:
        data = {k: v for k, v in info.items() if k != "source"}
        self.emit(ev.make_event(kind, self.name, time.time(), (), None, **data))

    def _placed(self, event: Event) -> Event:
        """The event with its place in the source: seconds from the source's start and the
        frame index. Analysers emit while a frame is processed, so that frame is the place;
        an event timed elsewhere (a status change between frames) gets its offset from the
        same origin and the last frame's index."""
        if event.offset_s is not None or self._origin is None:
            return event
        at = self._at
        if at is not None and event.time == at[0]:
            offset = at[1]
        else:
            offset = max(0.0, event.time - self._origin)
        return dataclasses.replace(event, offset_s=float(offset),
                                   frame=event.frame if event.frame is not None else (at[2] if at else None))

    def emit(self, event: Event) -> None:
        event = self._placed(event)
        self.summary.events[event.type] = self.summary.events.get(event.type, 0) + 1
        for alert in self.router.emit(event):
            self.summary.events[alert.type] = self.summary.events.get(alert.type, 0) + 1

    def stop(self) -> None:
        """Ask the loop to end; a live source waiting for a camera that is down is closed too."""
        self._stop.set()
        src = self._active_source
        if src is not None and src.live:
            src.close()

    # -- the loop -------------------------------------------------------------------
    def run(self, max_frames: int | None = None) -> RunSummary:
        """Process until the source ends, `stop()` is called or `max_frames` frames were processed."""
        max_frames = max_frames or self.config.source_options.max_frames
        source = self._source or self._open_source()
        self._active_source = source
        writer = None
        summary = self.summary
        stage: collections.defaultdict[str, float] = collections.defaultdict(float)
        tracker: Tracker | NoTracker | None = None
        monitor: GeometryMonitor | None = None
        seen: set[int] = set()
        last_tracks: list[Tracked] = []
        every_n = self.config.detect.every_n
        anchor = "center" if self.detector.label == "face" else "bottom"  # feet for people and vehicles
        t_start = time.perf_counter()
        self.running = True
        last_t = time.time()
        self._origin = last_t  # until the first frame: a live source's offsets count from its opening
        pts0: float | None = None
        try:
            for frame in source:
                if self._stop.is_set():
                    break
                t = frame.time
                last_t = t
                if pts0 is None:  # a file's clock may not start at 0 (edit lists): offsets count from its first frame
                    pts0 = frame.pts
                self._origin = t - (frame.pts - pts0)
                self._at = (t, frame.pts - pts0, frame.index)
                if tracker is None:
                    fps = (source.fps or 25.0) / every_n
                    tracker = Tracker(self.config.track, fps=fps) if self.config.track.enabled else NoTracker()
                    zones, lines = build_geometry(self.config.zones, self.config.lines, frame.width, frame.height)
                    monitor = GeometryMonitor(zones, lines, anchor)
                # count processed frames, not source frames: a live source that drops frames
                # must not make the detection cadence irregular
                detect_now = summary.frames % every_n == 0
                obs: list[Observation] = []
                if detect_now:
                    t0 = time.perf_counter()
                    obs = self.detector.detect(frame.image)
                    t1 = time.perf_counter()
                    tracks = tracker.update(obs, t)
                    t2 = time.perf_counter()
                    stage["detect"] += t1 - t0
                    stage["track"] += t2 - t1
                    summary.detections_run += 1
                    last_tracks = tracks
                    for tr in tracks:
                        if tr.track_id not in seen:
                            seen.add(tr.track_id)
                            summary.tracks += 1
                            self._track_started(frame, tr)
                        for etype, data in monitor.update(tr.track_id, tr.box, t):
                            self.emit(ev.make_event(etype, self.name, t, (tr.track_id,), None, frame=frame.index, **data))
                    view = FrameView(self.name, frame, tuple(tracks), tuple(obs), True)
                    t3 = time.perf_counter()
                    for i, a in enumerate(self.analysers):
                        out = a.analyse(view)
                        self._outputs[i] = out
                        for e in out.events:
                            self.emit(e)
                    stage["analyse"] += time.perf_counter() - t3
                    self._end_tracks(tracker.ended(t), monitor, t)
                image = frame.image
                if self.filters:
                    t4 = time.perf_counter()
                    view = FrameView(self.name, frame, tuple(last_tracks), tuple(obs), detect_now)
                    for flt in self.filters:
                        image = flt.apply(view, image)
                    stage["redact"] += time.perf_counter() - t4
                if self.output_path or self.keep_preview:
                    t5 = time.perf_counter()
                    if self.config.output.annotate:
                        image = self.annotate(image, last_tracks, monitor)
                    if self.output_path:
                        if writer is None:
                            from ..io.writer import VideoWriter

                            writer = VideoWriter(self.output_path, fps=source.fps or 25.0)
                        writer.write(image)
                    self.latest, self.latest_time = image, t
                    stage["output"] += time.perf_counter() - t5
                summary.frames += 1
                if max_frames is not None and summary.frames >= max_frames:
                    break
        except ClearsightError as exc:
            summary.error = str(exc)
            raise
        finally:
            if tracker is not None and monitor is not None:
                self._end_tracks(tracker.ended(last_t, all_tracks=True), monitor, last_t)
            summary.duration_s = time.perf_counter() - t_start
            summary.dropped = source.stats.dropped
            summary.stage_seconds = dict(stage)
            summary.filters = {f.name: dict(f.stats()) for f in self.filters}
            if writer is not None:
                writer.close()
            source.close()
            self.running = False
        return summary

    def _track_started(self, frame: Frame, tr: Tracked) -> None:
        self._started[tr.track_id] = (frame.time, tr.obs.label)
        if self.config.output.face_seen != "per_track":
            return
        etype = ev.FACE_SEEN if tr.obs.label == "face" else ev.TRACK_START
        snap = _crop(frame.image, tr.obs) if self.config.output.snapshots else None
        self.emit(ev.make_event(etype, self.name, frame.time, (tr.track_id,), snap, label=tr.obs.label,
                                box=tr.obs.box.to_dict(), score=round(tr.obs.score, 3), frame=frame.index))

    def _end_tracks(self, ended: list[int], monitor: GeometryMonitor, t: float) -> None:
        for tid in ended:
            started = self._started.pop(tid, None)
            if started is not None and self.config.output.face_seen == "per_track":
                self.emit(ev.make_event(ev.TRACK_END, self.name, t, (tid,), None, label=started[1],
                                        duration_s=round(max(0.0, t - started[0]), 3)))
            for etype, data in monitor.end_track(tid, t):
                self.emit(ev.make_event(etype, self.name, t, (tid,), None, **data))
            for a in self.analysers:
                for e in a.end_track(tid, t):
                    self.emit(e)

    def close(self) -> None:
        for plugin in self.analysers:
            plugin.close()
        self.router.close()

    # -- drawing ------------------------------------------------------------------
    def annotate(self, rgb: np.ndarray, tracks: Sequence[Tracked], monitor: GeometryMonitor | None) -> np.ndarray:
        """The output frame with tracks, zones, lines and the analysers' labels and overlays drawn."""
        return self.annotator.draw(rgb, tracks, monitor, self._outputs)


def run_camera(config: CameraConfig, *, max_frames: int | None = None, **kwargs: Any) -> RunSummary:
    """Build, run and close one camera pipeline (the CLI and the Ray actor use this)."""
    pipe = CameraPipeline(config, **kwargs)
    try:
        return pipe.run(max_frames=max_frames)
    finally:
        pipe.close()


__all__ = ["Analyser", "CameraPipeline", "FrameFilter", "RecognitionAnalyser", "RunSummary", "run_camera"]
