"""`clearsight dms --input webcam|FILE [--output annotated.mp4] [--events out.jsonl]`.

Stand-alone: files are decoded with PyAV (timestamps from the container, so a
variable-frame-rate phone video is timed correctly), the webcam through OpenCV
(timestamps from the wall clock).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from ...errors import ClearsightError, InputError


class VideoSourceError(InputError):
    code = "video_source_error"


def file_frames(path: Path) -> Iterator[tuple[np.ndarray, float, float]]:
    """(rgb, timestamp s, fps) from a video file."""
    import av

    if not path.is_file():
        raise VideoSourceError(f"video file not found: {path}")
    try:
        container = av.open(str(path))
    except Exception as exc:
        raise VideoSourceError(f"cannot open {path} as a video: {exc}") from None
    with container:
        if not container.streams.video:
            raise VideoSourceError(f"{path} has no video stream")
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 25)
        t0 = None
        for i, frame in enumerate(container.decode(stream)):
            t = float(frame.time) if frame.time is not None else i / fps
            t0 = t if t0 is None else t0
            yield frame.to_ndarray(format="rgb24"), t - t0, fps


def webcam_frames(index: int = 0) -> Iterator[tuple[np.ndarray, float, float]]:
    import cv2

    cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        raise VideoSourceError(f"no camera at index {index} (is a webcam connected and allowed?)")
    cap.set(cv2.CAP_PROP_FRAME_WIDTH, 640)
    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, 480)
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 30)
    t0 = time.monotonic()
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), time.monotonic() - t0, fps
    finally:
        cap.release()


class _Writer:
    def __init__(self, path: Path, fps: float, width: int, height: int) -> None:
        import av

        self.c = av.open(str(path), "w")
        self.s = self.c.add_stream("libx264" if path.suffix.lower() in (".mp4", ".mkv", ".mov") else "mpeg4", rate=int(round(fps)) or 25)
        self.s.width, self.s.height, self.s.pix_fmt = width - width % 2, height - height % 2, "yuv420p"

    def write(self, rgb: np.ndarray) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[: self.s.height, : self.s.width]), format="rgb24")
        for p in self.s.encode(frame):
            self.c.mux(p)

    def close(self) -> None:
        for p in self.s.encode():
            self.c.mux(p)
        self.c.close()


def run(
    source: str,
    output: Path | None = None,
    events_path: Path | None = None,
    show: bool = False,
    max_seconds: float | None = None,
) -> list[dict]:
    """Run the monitor over a source; returns the events (also written as JSON lines)."""
    from .monitor import DriverMonitor
    from .overlay import draw_overlay

    frames = webcam_frames(int(source[6:] or 0)) if source.startswith("webcam") else file_frames(Path(source))
    events: list[dict] = []
    recent = []
    writer = None
    sink = open(events_path, "w") if events_path else None
    try:
        with DriverMonitor(camera=source) as mon:
            for rgb, t, fps in frames:
                if max_seconds is not None and t > max_seconds:
                    break
                r = mon.feed(rgb, t)
                for e in r.events:
                    rec = {"type": e.type, "camera": e.camera, "time": round(e.time, 4), "data": e.data}
                    events.append(rec)
                    recent.append(e)
                    if sink:
                        sink.write(json.dumps(rec) + "\n")
                        sink.flush()
                recent = [e for e in recent if t - e.time < 5.0]
                if output is not None or show:
                    img = draw_overlay(rgb, r, recent)
                    if output is not None:
                        if writer is None:
                            writer = _Writer(output, fps, img.shape[1], img.shape[0])
                        writer.write(img)
                    if show:
                        import cv2

                        cv2.imshow("clearsight dms", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
                        if cv2.waitKey(1) & 0xFF in (27, ord("q")):
                            break
    finally:
        if writer is not None:
            writer.close()
        if sink:
            sink.close()
    return events


def register(app: typer.Typer) -> None:
    @app.command()
    def dms(
        input: Annotated[str, typer.Option("--input", "-i", help="webcam (or webcamN) or a video file")],
        output: Annotated[Optional[Path], typer.Option(help="write an annotated video (mp4)")] = None,
        events: Annotated[Optional[Path], typer.Option(help="write events as JSON lines")] = None,
        show: Annotated[bool, typer.Option(help="show a live window (needs a display)")] = False,
        max_seconds: Annotated[Optional[float], typer.Option(help="stop after this many seconds of video")] = None,
    ) -> None:
        """Driver monitoring: drowsiness, eyes off the road, yawning, agitation, with timed alerts."""
        import os

        os.environ.setdefault("GLOG_minloglevel", "2")
        try:
            found = run(input, output, events, show, max_seconds)
        except ClearsightError as exc:
            typer.echo(f"clearsight: error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        if events is None:
            for e in found:
                typer.echo(json.dumps(e))
        typer.echo(f"{len(found)} alert(s)", err=True)
