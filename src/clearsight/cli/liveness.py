"""`clearsight liveness IMAGE... [--json]` (passive) and `clearsight liveness --video CLIP --steps a,b,c` (active)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from ..errors import ClearsightError, InputError
from .common import echo_error, fail, quiet_runtimes


def _video_frames(path: Path, max_seconds: float) -> Iterator[tuple[float, np.ndarray]]:
    """(seconds from the clip's start, rgb) for the first `max_seconds`, read through io.video."""
    from ..io.video import FileSource

    with FileSource(path) as clip:
        t0: float | None = None
        for frame in clip:
            t0 = frame.pts if t0 is None else t0
            if frame.pts - t0 > max_seconds:
                break
            yield frame.pts - t0, frame.image


def liveness(
    images: Annotated[Optional[list[Path]], typer.Argument(help="photos to score (passive liveness)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON lines, one per image (or the challenge result)")] = False,
    mode: Annotated[Optional[str], typer.Option(help="frame | crop (default: frame when the photo shows enough round the face)")] = None,
    video: Annotated[Optional[Path], typer.Option(help="a clip of the person doing --steps (active challenge)")] = None,
    steps: Annotated[Optional[str], typer.Option(help="the order the person was asked for, e.g. turn_left,blink,open_mouth")] = None,
    max_seconds: Annotated[float, typer.Option(help="read at most this much of the clip")] = 60.0,
) -> None:
    """Is the face live? Photos: the passive score (exit 0 if every face looks live, 1 if not).

    A clip: the active challenge over it, in the order given by --steps (exit 0 if passed, 1 if
    not, with the reasons). A service issues a random order per session (POST /v1/liveness/sessions);
    a clip checked here proves only what the person was asked when it was recorded.
    """
    quiet_runtimes()
    from ..face.liveness import PassiveLiveness

    lv = PassiveLiveness()
    if video is not None:
        from ..face.challenge import ACTIONS, ChallengeConfig
        from ..face.liveness_session import LivenessSession

        if not steps:
            raise InputError(f"--video needs --steps (from {', '.join(ACTIONS)})")
        order = tuple(s.strip() for s in steps.split(",") if s.strip())
        session = LivenessSession(ChallengeConfig(steps=len(order), ttl_s=max_seconds + 30), lv, now=0.0, steps=order)
        try:
            st = session.run(_video_frames(video, max_seconds))
        finally:
            session.close()
        if as_json:
            typer.echo(json.dumps({"video": str(video), **st.to_dict()}))
        else:
            typer.echo(f"{video}: {st.status}" + (f" ({'; '.join(st.reasons)})" if st.reasons else ""))
            for i, a in enumerate(st.steps):
                typer.echo(f"  {i + 1}. {a:<11} {'done at %.1f s' % st.done[i] if i < len(st.done) else 'not done'}")
            if st.passive is not None:
                typer.echo(f"  passive live score (median over {st.frames} frames): {st.passive:.2f}")
        raise typer.Exit(0 if st.passed else 1)
    if not images:
        raise InputError("give photos to score, or --video with --steps")
    from ..face.pipeline import FacePipeline
    from ..io import load_image

    pipe = FacePipeline()
    last_error: ClearsightError | None = None
    all_live = True
    for path in images:
        try:
            rgb = load_image(path)
            faces = pipe.detect(rgb, mesh=True)
            results = [lv.check(rgb, f, mode) for f in faces]
        except ClearsightError as exc:
            echo_error(exc)
            last_error = exc
            continue
        all_live &= bool(results) and all(r.is_live for r in results)
        if as_json:
            typer.echo(json.dumps({"image": str(path), "faces": [r.to_dict() for r in results]}))
        else:
            typer.echo(f"{path}: {len(results)} face{'s' if len(results) != 1 else ''}")
            for i, r in enumerate(results):
                typer.echo(f"  #{i} {'live' if r.is_live else 'NOT live'}  live score {r.live_score:.2f} ({r.method}; "
                           f"networks alone {r.models_score:.2f})")
    if last_error is not None:
        fail(last_error, reported=True)
    raise typer.Exit(0 if all_live else 1)
