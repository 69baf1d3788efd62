"""Driver monitoring over a recorded video (or any stream of timed frames): the one
analysis the CLI and the REST route share.

Files and webcams are read through `io.video` (container timestamps, so a
variable-frame-rate phone clip is timed correctly; a webcam reader keeps only the
newest frame, so a slow machine skips frames instead of lagging behind the driver).
An upload is decoded from memory, never written to a temporary file, so no error can
name a server path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from ...io.video import FileSource, MemorySource, VideoSource, open_source
from ...io.writer import VideoWriter
from ...settings import DmsSettings
from ...types import Event
from .monitor import DriverMonitor, MonitorResult


class DmsVideoError(InputError):
    code = "dms_video_error"


TimedFrame = tuple[np.ndarray, float, float]  # (rgb, seconds from the first frame, fps)


def open_dms_source(spec: str) -> VideoSource:
    """`webcam`, `webcamN` or `webcam:N` (a camera) or a video file."""
    index = spec.removeprefix("webcam").removeprefix(":") if spec.startswith("webcam") else None
    if index is not None and (index == "" or index.isdigit()):
        return open_source(int(index or 0), max_attempts=1)
    return FileSource(Path(spec))


def timed_frames(source: VideoSource) -> Iterator[TimedFrame]:
    """Frames with times counted from the first one (the monitor's clock starts at 0)."""
    t0: float | None = None
    for frame in source:
        t0 = frame.pts if t0 is None else t0
        yield frame.image, frame.pts - t0, source.fps or 25.0


def file_frames(source: Path | bytes) -> Iterator[TimedFrame]:
    """(rgb, timestamp s, fps) from a video file, or from the bytes of an upload."""
    with MemorySource(source) if isinstance(source, bytes) else FileSource(source) as video:
        yield from timed_frames(video)


def event_dict(e: Event) -> dict[str, Any]:
    return {"type": e.type, "time": round(e.time, 4), "data": e.data}


@dataclass(frozen=True, slots=True)
class TimelineRow:
    t: float
    face_present: bool
    eyes_closed: bool
    perclos: float | None
    off_road: bool
    off_road_s: float
    agitation: float

    @classmethod
    def of(cls, t: float, r: MonitorResult) -> TimelineRow:
        st = r.state
        return cls(round(t, 4), st.face_present, st.eyes_closed, None if st.perclos is None else round(st.perclos, 3),
                   st.off_road, round(st.off_road_s, 3), round(r.agitation.index, 3))

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "face_present": self.face_present, "eyes_closed": self.eyes_closed, "perclos": self.perclos,
                "off_road": self.off_road, "off_road_s": self.off_road_s, "agitation": self.agitation}


@dataclass(frozen=True, slots=True)
class VideoAnalysis:
    timeline: tuple[TimelineRow, ...]
    events: tuple[Event, ...]
    fps: float
    truncated: bool

    @property
    def summary(self) -> dict[str, Any]:
        rows = self.timeline
        present = [r for r in rows if r.face_present]
        counts: dict[str, int] = {}
        for e in self.events:
            counts[e.type] = counts.get(e.type, 0) + 1
        return {
            "face_present_ratio": round(len(present) / len(rows), 3),
            "eyes_closed_ratio": round(sum(1 for r in present if r.eyes_closed) / max(1, len(present)), 3),
            "off_road_ratio": round(sum(1 for r in present if r.off_road) / max(1, len(present)), 3),
            "max_agitation": max(r.agitation for r in rows),
            "event_counts": counts,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": len(self.timeline),
            "duration_s": self.timeline[-1].t,
            "fps": round(self.fps, 3),
            "truncated": self.truncated,
            "summary": self.summary,
            "timeline": [r.to_dict() for r in self.timeline],
            "events": [event_dict(e) for e in self.events],
        }


FrameCallback = Callable[[np.ndarray, float, float, MonitorResult], bool | None]


def analyse_frames(
    frames: Iterable[TimedFrame],
    settings: DmsSettings | None = None,
    *,
    camera: str = "video",
    max_seconds: float | None = None,
    max_frames: int | None = None,
    max_width: int | None = None,
    on_frame: FrameCallback | None = None,
) -> VideoAnalysis:
    """Feed timed frames to one `DriverMonitor`; the per-frame timeline and the alerts.

    At most `max_seconds` / `max_frames` are analysed (`truncated` says the rest was
    ignored); frames wider than `max_width` are downscaled first (the face mesh runs
    at 192-256 px anyway). `on_frame(rgb, t, fps, result)` sees each analysed frame
    (an overlay, a writer, a window) and stops the analysis by returning True. A
    decoding error after the first frame ends the analysis as truncated.
    """
    timeline: list[TimelineRow] = []
    events: list[Event] = []
    truncated = False
    fps = 0.0
    it = iter(frames)
    with DriverMonitor(settings=settings, camera=camera) as mon:
        while True:
            try:
                item = next(it, None)
            except InputError:  # typed decode/source errors keep their code
                raise
            except Exception as exc:  # noqa: BLE001 - PyAV decode errors mid-stream
                if not timeline:
                    raise DmsVideoError(f"cannot decode the video: {type(exc).__name__}") from None
                truncated = True
                break
            if item is None:
                break
            rgb, t, fps = item
            if (max_seconds is not None and t > max_seconds) or (max_frames is not None and len(timeline) >= max_frames):
                truncated = True
                break
            if max_width is not None and rgb.shape[1] > max_width:
                import cv2

                scale = max_width / rgb.shape[1]
                rgb = cv2.resize(rgb, (max_width, max(1, round(rgb.shape[0] * scale))), interpolation=cv2.INTER_AREA)
            r = mon.feed(rgb, t)
            timeline.append(TimelineRow.of(t, r))
            events.extend(r.events)
            if on_frame is not None and on_frame(rgb, t, fps, r):
                break
    if not timeline:
        raise DmsVideoError("the video has no decodable frames")
    return VideoAnalysis(tuple(timeline), tuple(events), float(fps), truncated)


def analyse_video(
    source: Path | bytes,
    settings: DmsSettings | None = None,
    *,
    camera: str = "video",
    max_seconds: float | None = None,
    max_frames: int | None = None,
    max_width: int | None = None,
    on_frame: FrameCallback | None = None,
) -> VideoAnalysis:
    """`analyse_frames` over a video file or the bytes of an upload."""
    return analyse_frames(file_frames(source), settings, camera=camera, max_seconds=max_seconds, max_frames=max_frames,
                          max_width=max_width, on_frame=on_frame)


# How long an alert stays on the annotated picture after it fired.
_OVERLAY_ALERT_S = 5.0
LiveFrameCallback = Callable[[np.ndarray], bool]  # sees each annotated frame; True stops the run


def monitor_source(
    source: str,
    output: Path | None = None,
    events_path: Path | None = None,
    max_seconds: float | None = None,
    on_frame: LiveFrameCallback | None = None,
) -> list[dict[str, Any]]:
    """What `clearsight dms` runs: `analyse_frames` over a file or webcam, with the overlay
    video, and the events as JSON lines flushed one by one (`tail -f` follows a live run)."""
    from .overlay import draw_overlay

    recent: list[Event] = []
    writer: VideoWriter | None = None
    sink = open(events_path, "w") if events_path else None

    def frame_done(rgb: np.ndarray, t: float, fps: float, r: MonitorResult) -> bool:
        nonlocal writer, recent
        for e in r.events:
            recent.append(e)
            if sink:
                sink.write(json.dumps(_event_record(e)) + "\n")
                sink.flush()
        recent = [e for e in recent if t - e.time < _OVERLAY_ALERT_S]
        if output is None and on_frame is None:
            return False
        img = draw_overlay(rgb, r, recent)
        if output is not None:
            if writer is None:
                writer = VideoWriter(output, fps)
            writer.write(img)
        return bool(on_frame is not None and on_frame(img))

    try:
        with open_dms_source(source) as video:
            result = analyse_frames(timed_frames(video), camera=source, max_seconds=max_seconds, on_frame=frame_done)
    finally:
        if writer is not None:
            writer.close()
        if sink:
            sink.close()
    return [_event_record(e) for e in result.events]


def _event_record(e: Event) -> dict[str, Any]:
    """A JSON line of the CLI: the event with its camera (the file or webcam it came from)."""
    return {"type": e.type, "camera": e.camera, "time": round(e.time, 4), "data": e.data}


__all__ = ["DmsVideoError", "TimelineRow", "VideoAnalysis", "analyse_frames", "analyse_video", "event_dict",
           "file_frames", "monitor_source", "open_dms_source", "timed_frames"]
