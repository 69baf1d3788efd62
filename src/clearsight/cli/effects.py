"""`clearsight effects`: apply effects to a photo, a video file or the webcam."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import typer

from ..errors import InputError
from ..io.video import IMAGE_SUFFIXES, VideoSource, open_source
from .common import quiet_runtimes

WINDOW = "window"


def _show(rgb: np.ndarray) -> bool:
    """Show one frame; True when the user pressed Esc or q."""
    import cv2

    from ..apps.effects.errors import EffectConfigError

    try:
        cv2.imshow("clearsight effects", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        return (cv2.waitKey(1) & 0xFF) in (27, ord("q"))
    except cv2.error:
        raise EffectConfigError("no display available for --output window; write to a file instead (--output out.mp4)") from None


def _list(stickers_manifest: Path | None) -> None:
    from ..apps.effects.beauty import BEAUTY_PARAMS
    from ..apps.effects.body import BODY_PARAMS
    from ..apps.effects.pipeline import PRESETS
    from ..apps.effects.stickers import available

    typer.echo("presets: " + ", ".join(f"{k} {v}" if v else k for k, v in PRESETS.items()))
    typer.echo("face controls (0..1): " + ", ".join(BEAUTY_PARAMS))
    typer.echo("body controls (-1..1, negative = slimmer): " + ", ".join(BODY_PARAMS))
    typer.echo("stickers: " + ", ".join(available(stickers_manifest)))
    typer.echo("background: blur | image (background_image=PATH) | color (background_color=#RRGGBB); background_strength 0..1")


def _run_image(src: str, dst: str, preset: str, params: dict[str, Any], max_faces: int, manifest: Path | None) -> None:
    from ..apps.effects.pipeline import build
    from ..io import load_image, save_image

    fx = build(preset, params, video=False, max_faces=max_faces, sticker_manifest=str(manifest) if manifest else None)
    try:
        out = fx.apply(load_image(src), t=0.0)
    finally:
        fx.close()
    if dst == WINDOW:
        _show(out)
        return
    save_image(out, dst)
    typer.echo(f"wrote {dst}")


def _open_video(src: str) -> VideoSource:
    if src == "webcam" or src.startswith("webcam:"):
        return open_source(f"webcam:{src.partition(':')[2] or 0}", max_attempts=1)
    if not Path(src).is_file():
        raise InputError(f"input not found: {src}")
    return open_source(src)


def _run_video(src: str, dst: str, preset: str, params: dict[str, Any], max_faces: int, smoothing: bool,
               manifest: Path | None, max_frames: int) -> None:
    from ..apps.effects.pipeline import build
    from ..io.writer import VideoWriter

    fx = build(preset, params, video=True, max_faces=max_faces, smoothing=smoothing,
               sticker_manifest=str(manifest) if manifest else None)
    writer: VideoWriter | None = None
    n = 0
    busy = 0.0
    try:
        with _open_video(src) as video:
            for frame in video:
                # the source's clock: the video's own for a file (smoothing and animation
                # match playback), seconds since the first frame for a webcam
                t0 = time.perf_counter()
                out = fx.apply(frame.image, t=frame.pts)
                busy += time.perf_counter() - t0
                n += 1
                if dst == WINDOW:
                    if _show(out):
                        break
                else:
                    if writer is None:
                        writer = VideoWriter(dst, video.fps or 30.0)
                    writer.write(out)
                if max_frames and n >= max_frames:
                    break
    finally:
        if writer is not None:
            writer.close()
        fx.close()
    if n == 0:
        raise InputError(f"no frames could be read from {src}")
    typer.echo(f"{n} frames, {1000 * busy / n:.1f} ms/frame for effects" + (f"; wrote {dst}" if dst != WINDOW else ""))


def effects(
    input: Annotated[str, typer.Option("--input", "-i", help="webcam | webcam:N | an image or video file")] = "webcam",
    output: Annotated[str, typer.Option("--output", "-o", help="window | an image or video file (.mp4, .avi)")] = WINDOW,
    preset: Annotated[str, typer.Option("--preset", "-p", help="none | natural | glam | cartoon | party | bunny | stream | slim-stream")] = "none",
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="override one control, e.g. eye_enlarge=0.4, stickers=sunglasses,bunny_ears, waist=-0.3, background=blur")] = None,
    max_faces: Annotated[int, typer.Option(help="faces to process per frame")] = 4,
    smoothing: Annotated[bool, typer.Option(help="One Euro smoothing of landmarks in video")] = True,
    stickers_manifest: Annotated[Optional[Path], typer.Option(help="your own sticker manifest (see assets/manifest.json)")] = None,
    max_frames: Annotated[int, typer.Option(help="stop after N frames (0 = until the input ends)")] = 0,
    list_: Annotated[bool, typer.Option("--list", help="list presets, controls and stickers, then exit")] = False,
) -> None:
    """Face and body effects: stickers, beautification, body reshaping, background. Off unless you choose them."""
    quiet_runtimes()
    if list_:
        _list(stickers_manifest)
        return
    from ..apps.effects.pipeline import parse_sets

    params = parse_sets(set_ or [])
    if Path(input).suffix.lower() in IMAGE_SUFFIXES:
        _run_image(input, output, preset, params, max_faces, stickers_manifest)
    else:
        _run_video(input, output, preset, params, max_faces, smoothing, stickers_manifest, max_frames)
