"""`clearsight dms --input webcam|FILE [--output annotated.mp4] [--events out.jsonl]`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from .common import quiet_runtimes


def _show_window(img: np.ndarray) -> bool:
    """Show one annotated frame; Esc or q ends the run."""
    import cv2

    cv2.imshow("clearsight dms", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return (cv2.waitKey(1) & 0xFF) in (27, ord("q"))


def dms(
    input: Annotated[str, typer.Option("--input", "-i", help="webcam (or webcamN) or a video file")],
    output: Annotated[Optional[Path], typer.Option(help="write an annotated video (mp4)")] = None,
    events: Annotated[Optional[Path], typer.Option(help="write events as JSON lines")] = None,
    show: Annotated[bool, typer.Option(help="show a live window (needs a display)")] = False,
    max_seconds: Annotated[Optional[float], typer.Option(help="stop after this many seconds of video")] = None,
) -> None:
    """Driver monitoring: drowsiness, eyes off the road, yawning, agitation, with timed alerts."""
    from ..apps.dms.video import monitor_source

    quiet_runtimes()
    found = monitor_source(input, output, events, max_seconds, on_frame=_show_window if show else None)
    if events is None:
        for e in found:
            typer.echo(json.dumps(e))
    typer.echo(f"{len(found)} alert(s)", err=True)
