"""`clearsight effects`: apply effects to a photo, a video file or the webcam."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def _is_image(path: str) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTS


def register(app: typer.Typer) -> None:
    @app.command()
    def effects(
        input: Annotated[str, typer.Option("--input", "-i", help="webcam | webcam:N | an image or video file")] = "webcam",
        output: Annotated[str, typer.Option("--output", "-o", help="window | an image or video file (.mp4, .avi)")] = "window",
        preset: Annotated[str, typer.Option("--preset", "-p", help="none | natural | glam | cartoon | party | bunny | stream | slim-stream")] = "none",
        set_: Annotated[Optional[list[str]], typer.Option("--set", help="override one control, e.g. eye_enlarge=0.4, stickers=sunglasses,bunny_ears, waist=-0.3, background=blur")] = None,
        max_faces: Annotated[int, typer.Option(help="faces to process per frame")] = 4,
        smoothing: Annotated[bool, typer.Option(help="One Euro smoothing of landmarks in video")] = True,
        stickers_manifest: Annotated[Optional[Path], typer.Option(help="your own sticker manifest (see assets/manifest.json)")] = None,
        max_frames: Annotated[int, typer.Option(help="stop after N frames (0 = until the input ends)")] = 0,
        list_: Annotated[bool, typer.Option("--list", help="list presets, controls and stickers, then exit")] = False,
    ) -> None:
        """Face and body effects: stickers, beautification, body reshaping, background. Off unless you choose them."""
        from ...cli import _fail, _quiet_runtimes
        from ...errors import ClearsightError

        _quiet_runtimes()
        from .pipeline import PRESETS, build, parse_sets

        if list_:
            from .beauty import BEAUTY_PARAMS
            from .body import BODY_PARAMS
            from .stickers import available

            typer.echo("presets: " + ", ".join(f"{k} {v}" if v else k for k, v in PRESETS.items()))
            typer.echo("face controls (0..1): " + ", ".join(BEAUTY_PARAMS))
            typer.echo("body controls (-1..1, negative = slimmer): " + ", ".join(BODY_PARAMS))
            typer.echo("stickers: " + ", ".join(available(stickers_manifest)))
            typer.echo("background: blur | image (background_image=PATH) | color (background_color=#RRGGBB); background_strength 0..1")
            return
        try:
            params = parse_sets(set_ or [])
            if _is_image(input):
                _run_image(input, output, preset, params, max_faces, stickers_manifest)
            else:
                _run_video(input, output, preset, params, max_faces, smoothing, stickers_manifest, max_frames)
        except ClearsightError as exc:
            _fail(exc)


def _run_image(src: str, dst: str, preset: str, params: dict, max_faces: int, manifest: Path | None) -> None:
    from ...io import load_image, save_image
    from .pipeline import build

    fx = build(preset, params, video=False, max_faces=max_faces, sticker_manifest=str(manifest) if manifest else None)
    rgb = load_image(src)
    out = fx.apply(rgb, t=0.0)
    fx.close()
    if dst == "window":
        _show_or_fail(out)
        return
    save_image(out, dst)
    typer.echo(f"wrote {dst}")


def _show_or_fail(rgb) -> bool:
    import cv2

    from .errors import EffectConfigError

    try:
        cv2.imshow("clearsight effects", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        return (cv2.waitKey(1) & 0xFF) in (27, ord("q"))
    except cv2.error:
        raise EffectConfigError("no display available for --output window; write to a file instead (--output out.mp4)") from None


def _open_capture(src: str):
    import cv2

    from ...errors import InputError

    if src == "webcam" or src.startswith("webcam:"):
        index = int(src.split(":", 1)[1]) if ":" in src else 0
        cap = cv2.VideoCapture(index)
        if not cap.isOpened():
            raise InputError(f"cannot open webcam {index}")
        return cap, 0.0
    if not Path(src).is_file():
        raise InputError(f"input not found: {src}")
    cap = cv2.VideoCapture(src)
    if not cap.isOpened():
        raise InputError(f"cannot decode video {src}")
    return cap, float(cap.get(cv2.CAP_PROP_FPS) or 0.0)


def _run_video(src: str, dst: str, preset: str, params: dict, max_faces: int, smoothing: bool, manifest: Path | None, max_frames: int) -> None:
    import cv2

    from .errors import EffectConfigError
    from .pipeline import build

    fx = build(preset, params, video=True, max_faces=max_faces, smoothing=smoothing, sticker_manifest=str(manifest) if manifest else None)
    cap, fps = _open_capture(src)
    live = fps <= 0
    writer = None
    n = 0
    t_start = time.monotonic()
    busy = 0.0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            # file: the video's own clock (smoothing and animation match playback); webcam: wall time
            t = (time.monotonic() - t_start) if live else n / fps
            t0 = time.perf_counter()
            out = fx.apply(rgb, t=t)
            busy += time.perf_counter() - t0
            n += 1
            if dst == "window":
                if _show_or_fail(out):
                    break
            else:
                if writer is None:
                    fourcc = cv2.VideoWriter_fourcc(*("MJPG" if dst.lower().endswith(".avi") else "mp4v"))
                    writer = cv2.VideoWriter(dst, fourcc, fps or 30.0, (out.shape[1], out.shape[0]))
                    if not writer.isOpened():
                        raise EffectConfigError(f"cannot write video {dst} (use .mp4 or .avi)")
                writer.write(cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
            if max_frames and n >= max_frames:
                break
    finally:
        cap.release()
        if writer is not None:
            writer.release()
        fx.close()
    if n == 0:
        from ...errors import InputError

        raise InputError(f"no frames could be read from {src}")
    typer.echo(f"{n} frames, {1000 * busy / n:.1f} ms/frame for effects" + (f"; wrote {dst}" if dst != "window" else ""))
