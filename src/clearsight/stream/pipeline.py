"""The per-camera pipeline: source -> detect (every N frames) -> track -> zones/lines
-> per-track analysers (recognition, watchlist) -> events -> rules -> sinks;
optionally redaction and an annotated output (file and live preview).

One `CameraPipeline` is one camera; it runs in the caller's thread (`run`) so the
same object serves the CLI, a thread in the service's camera manager and a Ray
actor. Events are the only output that matters for automation; the annotated
frame is for people.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np

from ..errors import ClearsightError, InputError
from ..io.video import Frame, VideoSource, open_source
from ..rules import events as ev
from ..rules.sinks import EventRouter, Sink
from ..types import Event
from .config import CameraConfig
from .detectors import Observation, StageDetector, create_stage_detector
from .recognition import Decision, GalleryIdentifier, Identifier, TrackRecognizer
from .tracking import NoTracker, Tracked, Tracker
from .zones import GeometryMonitor, build_geometry


class Analyser(Protocol):
    """A per-track analysis (recognition, watchlist ...): sees tracks, returns events."""

    def on_tracks(self, frame: Frame, tracks: Sequence[Tracked]) -> list[Event]: ...

    def on_track_end(self, track_id: int, t: float) -> list[Event]: ...

    def label(self, track_id: int) -> str | None: ...


def _crop(rgb: np.ndarray, obs: Observation, grow: float = 1.3) -> np.ndarray:
    b = obs.box.scaled(grow).clip(rgb.shape[1], rgb.shape[0])
    return np.ascontiguousarray(rgb[int(b.y1): int(b.y2), int(b.x1): int(b.x2)])


class RecognitionAnalyser:
    """Identify each face track once (vote over best frames); emit `event_type` for decisions.

    `alert_unknown=False` means unknown people produce no event (the watchlist's
    behaviour); the general recognition stage reports them as `identity: null`.
    """

    def __init__(self, camera: str, recognizer: TrackRecognizer, *, event_type: str = ev.IDENTITY,
                 alert_unknown: bool = True, snapshots: bool = True, extra: dict[str, Any] | None = None) -> None:
        self.camera = camera
        self.recognizer = recognizer
        self.event_type = event_type
        self.alert_unknown = alert_unknown
        self.snapshots = snapshots
        self.extra = extra or {}
        self.decisions: dict[int, Decision] = {}
        self.seconds = 0.0

    def _event(self, d: Decision) -> Event | None:
        self.decisions[d.track_id] = d
        if not d.known and not self.alert_unknown:
            return None
        return ev.make_event(
            self.event_type, self.camera, d.time, (d.track_id,), d.snapshot if self.snapshots else None,
            identity_id=d.identity_id, display_name=d.display_name, similarity=round(d.similarity, 4),
            votes=d.votes, samples=d.samples, threshold=round(d.threshold, 4), operating_point=d.operating_point,
            **self.extra,
        )

    def on_tracks(self, frame: Frame, tracks: Sequence[Tracked]) -> list[Event]:
        t0 = time.perf_counter()
        out = []
        for tr in tracks:
            if tr.obs.face is None or self.recognizer.decided(tr.track_id):
                continue
            d = self.recognizer.observe(tr.track_id, frame.image, tr.obs.face, frame.time)
            if d is not None and (e := self._event(d)) is not None:
                out.append(e)
        self.seconds += time.perf_counter() - t0
        return out

    def on_track_end(self, track_id: int, t: float) -> list[Event]:
        d = self.recognizer.finish(track_id, t)
        if d is None:
            return []
        e = self._event(d)
        return [e] if e is not None else []

    def label(self, track_id: int) -> str | None:
        d = self.decisions.get(track_id)
        if d is None:
            return None
        return (d.display_name or d.identity_id) if d.known else "unknown"


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

    @property
    def fps(self) -> float:
        return self.frames / self.duration_s if self.duration_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "camera": self.camera, "frames": self.frames, "detections_run": self.detections_run, "dropped": self.dropped,
            "duration_s": round(self.duration_s, 3), "fps": round(self.fps, 2), "tracks": self.tracks,
            "events": dict(self.events), "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "error": self.error,
        }


_COLOURS = [(46, 204, 113), (52, 152, 219), (155, 89, 182), (241, 196, 15), (230, 126, 34), (26, 188, 156)]


class CameraPipeline:
    def __init__(
        self,
        config: CameraConfig,
        *,
        gallery: Any | None = None,
        router: EventRouter | None = None,
        extra_sinks: Sequence[tuple[Sink, Any]] = (),
        output_path: str | None = None,
        source: VideoSource | None = None,
        detector: StageDetector | None = None,
        identifier: Identifier | None = None,
        watchlist_identifier: Identifier | None = None,
        analysers: Sequence[Analyser] = (),
        keep_preview: bool = False,
    ) -> None:
        self.config = config
        self.name = config.name
        self._gallery = gallery
        self.router = router or EventRouter.from_config(config.rules, config.sinks)
        for sink, sel in extra_sinks:
            self.router.add_sink(sink, sel)
        self.output_path = output_path or config.output.path
        self._source = source
        self.detector = detector or create_stage_detector(
            config.detect.detector, min_score=config.detect.min_score, max_side=config.detect.max_side, **config.detect.options
        )
        self.analysers: list[Analyser] = list(analysers)
        snapshots = config.output.snapshots
        if config.recognize is not None:
            ident = identifier or GalleryIdentifier(self.gallery, config.recognize_purpose, f"camera:{self.name}")
            fp = getattr(self._gallery, "pipeline", None) if identifier is None else None
            self.analysers.append(RecognitionAnalyser(self.name, TrackRecognizer(ident, config.recognize, pipeline=fp), snapshots=snapshots))
        if config.watchlist is not None and config.watchlist.enabled:
            from ..apps.watchlist import WatchlistAnalyser

            self.analysers.append(WatchlistAnalyser.from_config(self.name, config.watchlist, gallery=None if watchlist_identifier else self.gallery,
                                                                identifier=watchlist_identifier, snapshots=snapshots))
        self.redactor = None
        if config.redact is not None and config.redact.enabled:
            from ..apps.redact import Redactor

            self.redactor = Redactor(config.redact, gallery=self._gallery, camera=self.name)
        self.keep_preview = keep_preview
        self.latest: np.ndarray | None = None  # last output frame (annotated/redacted), for live view
        self.latest_time: float = 0.0
        self._stop = threading.Event()
        self.summary = RunSummary(self.name)
        self._labels: dict[int, str] = {}
        self.running = False
        self._active_source: VideoSource | None = None

    # -- parts ------------------------------------------------------------------
    @property
    def gallery(self) -> Any:
        if self._gallery is None:
            try:
                from ..gallery import Gallery
            except ImportError as exc:
                raise InputError(f"camera {self.name!r} needs the identity gallery, which is not available: {exc}") from None
            self._gallery = Gallery.open()
        return self._gallery

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

    def emit(self, event: Event) -> None:
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
        stage = collections.defaultdict(float)
        tracker: Tracker | NoTracker | None = None
        monitor: GeometryMonitor | None = None
        seen: set[int] = set()
        last_tracks: list[Tracked] = []
        every_n = self.config.detect.every_n
        anchor = "bottom" if self.detector.label == "person" else "center"
        t_start = time.perf_counter()
        self.running = True
        last_t = time.time()
        try:
            for frame in source:
                if self._stop.is_set():
                    break
                t = frame.time
                last_t = t
                if tracker is None:
                    fps = (source.fps or 25.0) / every_n
                    tracker = Tracker(self.config.track, fps=fps) if self.config.track.enabled else NoTracker()
                    zones, lines = build_geometry(self.config.zones, self.config.lines, frame.width, frame.height)
                    monitor = GeometryMonitor(zones, lines, anchor)
                # count processed frames, not source frames: a live source that drops frames
                # must not make the detection cadence irregular
                detect_now = summary.frames % every_n == 0
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
                            if self.config.output.face_seen == "per_track":
                                etype = ev.FACE_SEEN if tr.obs.label == "face" else ev.TRACK_START
                                snap = _crop(frame.image, tr.obs) if self.config.output.snapshots else None
                                self.emit(ev.make_event(etype, self.name, t, (tr.track_id,), snap, label=tr.obs.label,
                                                        box=tr.obs.box.to_dict(), score=round(tr.obs.score, 3),
                                                        frame=frame.index))
                        for etype, data in monitor.update(tr.track_id, tr.box, t):
                            self.emit(ev.make_event(etype, self.name, t, (tr.track_id,), None, frame=frame.index, **data))
                    t3 = time.perf_counter()
                    for a in self.analysers:
                        for e in a.on_tracks(frame, tracks):
                            self.emit(e)
                    stage["analyse"] += time.perf_counter() - t3
                    self._end_tracks(tracker.ended(t), monitor, t)
                out = frame.image
                if self.redactor is not None:
                    t4 = time.perf_counter()
                    out = self.redactor.apply(frame, last_tracks if detect_now else None)
                    stage["redact"] += time.perf_counter() - t4
                if self.output_path or self.keep_preview:
                    t5 = time.perf_counter()
                    if self.config.output.annotate:
                        out = self.annotate(out, last_tracks, monitor)
                    if self.output_path:
                        if writer is None:
                            from ..io.writer import VideoWriter

                            writer = VideoWriter(self.output_path, fps=source.fps or 25.0)
                        writer.write(out)
                    self.latest, self.latest_time = out, t
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
            if writer is not None:
                writer.close()
            source.close()
            self.running = False
        return summary

    def _end_tracks(self, ended: list[int], monitor: GeometryMonitor, t: float) -> None:
        for tid in ended:
            for etype, data in monitor.end_track(tid, t):
                self.emit(ev.make_event(etype, self.name, t, (tid,), None, **data))
            for a in self.analysers:
                for e in a.on_track_end(tid, t):
                    self.emit(e)

    def close(self) -> None:
        self.router.close()

    # -- drawing ------------------------------------------------------------------
    def annotate(self, rgb: np.ndarray, tracks: Sequence[Tracked], monitor: GeometryMonitor | None) -> np.ndarray:
        out = np.ascontiguousarray(rgb.copy())
        thick = max(1, round(max(out.shape[:2]) / 600))
        if monitor is not None:
            occ = monitor.occupancy()
            for z in monitor.zones:
                pts = z.polygon.astype(np.int32).reshape(-1, 1, 2)
                cv2.polylines(out, [pts], True, (255, 200, 0), thick)
                x, y = pts[0, 0]
                cv2.putText(out, f"{z.name} ({occ.get(z.name, 0)})", (int(x) + 3, int(y) + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 200, 0), 1)
            for ln in monitor.lines:
                cv2.line(out, tuple(int(v) for v in ln.a), tuple(int(v) for v in ln.b), (255, 80, 80), thick + 1)
        for tr in tracks:
            colour = _COLOURS[tr.track_id % len(_COLOURS)]
            x1, y1, x2, y2 = (int(round(v)) for v in tr.box.as_xyxy())
            cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick)
            label = f"#{tr.track_id}"
            for a in self.analysers:
                name = a.label(tr.track_id)
                if name:
                    label += f" {name}"
            cv2.putText(out, label, (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)
        return out


def run_camera(config: CameraConfig, *, max_frames: int | None = None, **kwargs: Any) -> RunSummary:
    """Build, run and close one camera pipeline (the CLI and the Ray actor use this)."""
    pipe = CameraPipeline(config, **kwargs)
    try:
        return pipe.run(max_frames=max_frames)
    finally:
        pipe.close()


__all__ = ["Analyser", "CameraPipeline", "RecognitionAnalyser", "RunSummary", "run_camera"]
