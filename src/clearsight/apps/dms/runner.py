"""Driver monitoring over a whole video source: what `clearsight dms` runs.

Sources come from `io.video`: files are decoded with PyAV (timestamps from the
container, so a variable-frame-rate phone video is timed correctly), webcams by a
reader thread that keeps only the newest frame (wall-clock timestamps), so a slow
machine skips frames instead of lagging behind the driver.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ...io.video import FileSource, VideoSource, VideoSourceError, open_source
from ...io.writer import VideoWriter
from ...types import Event

# How long an alert stays on the annotated picture after it fired.
_OVERLAY_ALERT_S = 5.0

TimedFrame = tuple[np.ndarray, float, float]  # (rgb, seconds since the first frame, source fps)
FrameCallback = Callable[[np.ndarray], bool]  # sees each annotated frame; True stops the run


def open_dms_source(spec: str) -> VideoSource:
    """`webcam`, `webcamN` or `webcam:N` (a camera) or a video file."""
    index = spec.removeprefix("webcam").removeprefix(":") if spec.startswith("webcam") else None
    if index is not None and (index == "" or index.isdigit()):
        return open_source(int(index or 0), max_attempts=1)
    path = Path(spec)
    if not path.is_file():
        raise VideoSourceError(f"video file not found: {path}")
    return FileSource(path)


def timed_frames(source: VideoSource) -> Iterator[TimedFrame]:
    """Frames with times counted from the first one (the monitor's clock starts at 0)."""
    t0: float | None = None
    for frame in source:
        t0 = frame.pts if t0 is None else t0
        yield frame.image, frame.pts - t0, source.fps or 25.0


def file_frames(path: Path) -> Iterator[TimedFrame]:
    """(rgb, timestamp s, fps) from a video file."""
    with FileSource(path) as source:
        yield from timed_frames(source)


def event_record(e: Event) -> dict[str, Any]:
    return {"type": e.type, "camera": e.camera, "time": round(e.time, 4), "data": e.data}


def monitor_source(
    source: str,
    output: Path | None = None,
    events_path: Path | None = None,
    max_seconds: float | None = None,
    on_frame: FrameCallback | None = None,
) -> list[dict[str, Any]]:
    """Run the monitor over a source; returns the events (also written as JSON lines,
    flushed one by one so a live run can be followed with `tail -f`)."""
    from .monitor import DriverMonitor
    from .overlay import draw_overlay

    events: list[dict[str, Any]] = []
    recent: list[Event] = []
    writer: VideoWriter | None = None
    sink = open(events_path, "w") if events_path else None
    try:
        with open_dms_source(source) as video, DriverMonitor(camera=source) as mon:
            for rgb, t, fps in timed_frames(video):
                if max_seconds is not None and t > max_seconds:
                    break
                r = mon.feed(rgb, t)
                for e in r.events:
                    rec = event_record(e)
                    events.append(rec)
                    recent.append(e)
                    if sink:
                        sink.write(json.dumps(rec) + "\n")
                        sink.flush()
                recent = [e for e in recent if t - e.time < _OVERLAY_ALERT_S]
                if output is None and on_frame is None:
                    continue
                img = draw_overlay(rgb, r, recent)
                if output is not None:
                    if writer is None:
                        writer = VideoWriter(output, fps)
                    writer.write(img)
                if on_frame is not None and on_frame(img):
                    break
    finally:
        if writer is not None:
            writer.close()
        if sink:
            sink.close()
    return events
