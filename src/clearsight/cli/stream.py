"""`clearsight run` and `clearsight redact`: the video engine from the shell."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import ClearsightError, InputError
from .common import quiet_runtimes


def run(
    cameras: Annotated[list[Path], typer.Argument(help="camera YAML file(s)")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="annotated video (MP4); one camera only")] = None,
    events: Annotated[Optional[Path], typer.Option("--events", "-e", help="also append every event to this JSON-lines file")] = None,
    engine: Annotated[str, typer.Option(help="local (threads in this process) | ray (one actor per camera)")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster address, e.g. the head's host:port from `ray start "
                                                         "--head` (default: start a local one); docs/scaling.md")] = None,
    max_frames: Annotated[Optional[int], typer.Option(help="stop each camera after this many frames")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the run summary as JSON")] = False,
) -> None:
    """Run camera pipelines: detect, track, zones, recognition, rules, sinks."""
    from ..apps.compose import build_pipeline, run_cameras_on_ray
    from ..rules.sinks import JsonlSink
    from ..stream.config import load_camera
    from ..stream.pipeline import CameraPipeline

    quiet_runtimes()
    if engine not in ("local", "ray"):
        raise InputError(f"unknown engine {engine!r}; choose local or ray")
    configs = [load_camera(p) for p in cameras]
    if output is not None and len(configs) > 1:
        raise InputError("--output writes one video: give one camera file")
    summaries: list[dict[str, Any]]
    if engine == "ray":
        evs = [str(events.with_name(f"{events.stem}.{c.name}{events.suffix}")) if len(configs) > 1 else str(events)
               for c in configs] if events else None
        summaries = run_cameras_on_ray(configs, address=ray_address, output_paths=[str(output)] if output else None,
                                       events_paths=evs, max_frames=max_frames)
    else:
        jsonl = JsonlSink(events) if events else None
        pipes = [build_pipeline(c, extra_sinks=[(jsonl, "all")] if jsonl else [], output_path=str(output) if output else None)
                 for c in configs]
        results: dict[str, dict[str, Any] | ClearsightError] = {}

        def _go(p: CameraPipeline) -> None:
            try:
                results[p.name] = p.run(max_frames=max_frames).to_dict()
            except ClearsightError as exc:
                results[p.name] = exc
            finally:
                p.close()

        if len(pipes) == 1:
            _go(pipes[0])
        else:
            threads = [threading.Thread(target=_go, args=(p,), daemon=True) for p in pipes]
            for t in threads:
                t.start()
            try:
                for t in threads:
                    while t.is_alive():
                        t.join(0.5)
            except KeyboardInterrupt:
                for p in pipes:
                    p.stop()
        if jsonl:
            jsonl.close()
        outcomes = [results[p.name] for p in pipes]
        for r in outcomes:
            if isinstance(r, ClearsightError):
                raise r
        summaries = [r for r in outcomes if not isinstance(r, ClearsightError)]
    if as_json:
        typer.echo(json.dumps(summaries))
        return
    for s in summaries:
        ev = ", ".join(f"{k} {v}" for k, v in sorted(s["events"].items())) or "no events"
        moved = f", moved to another node {s['failovers']}x" if s.get("failovers") else ""
        typer.echo(f"{s['camera']}: {s['frames']} frames in {s['duration_s']:.1f} s ({s['fps']:.1f} fps), "
                   f"{s['dropped']} dropped, {s['tracks']} tracks{moved}; events: {ev}")


def redact(
    src: Annotated[Path, typer.Argument(help="input video, image folder or image")],
    dst: Annotated[Path, typer.Argument(help="output video (MP4) or image")],
    mode: Annotated[str, typer.Option(help="blur | pixelate | fill")] = "blur",
    keep_consented: Annotated[bool, typer.Option(help="leave visible identities with a valid `photos` consent (needs the gallery)")] = False,
    margin: Annotated[float, typer.Option(help="grow each face box by this fraction")] = 0.25,
) -> None:
    """Blur or pixelate every face (except, optionally, people who consented to appear)."""
    from ..apps.redact import redact_image, redact_video
    from ..io import load_image, save_image
    from ..io.video import IMAGE_SUFFIXES

    quiet_runtimes()
    if mode not in ("blur", "pixelate", "fill"):
        raise InputError(f"unknown mode {mode!r}; choose blur, pixelate or fill")
    if src.suffix.lower() in IMAGE_SUFFIXES and src.is_file():
        if keep_consented:
            raise InputError("--keep-consented works on videos (identities are decided per track)")
        save_image(redact_image(load_image(src), mode=mode, margin=margin), dst)
        typer.echo(f"{dst}: redacted")
        return
    r = redact_video(src, dst, mode=mode, keep_consented=keep_consented, margin=margin)
    typer.echo(f"{dst}: {r['frames']} frames, {r['faces_redacted']} face regions redacted, "
               f"{r['consented_tracks']} consented people left visible")
