"""`clearsight footage ...`: index recorded video by face, find a person in it by a photo.

`index` is resumable: interrupt it (Ctrl-C) and run it again, and it goes on from its last
checkpoint without storing an appearance twice; a video indexed before (same content,
any path) is skipped. A file that is not a readable video gets a line on stderr and
the run goes on; the command exits 2 at the end if any failed.

`search` is for an investigation or a missing person only, under a legal basis, and
gives candidates for a person to review (never an identification); it is audited.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import InputError
from .common import JsonOpt, default_actor, echo_json, echo_table, fail, quiet_runtimes


def _bar(path: str, frame: int, total: int | None, offset_s: float, tracks: int) -> None:
    """One progress line, redrawn in place on a terminal."""
    if not sys.stderr.isatty():
        return
    name = Path(path).name[:40]
    if total:
        share = min(1.0, frame / total)
        fill = int(30 * share)
        bar = f"[{'#' * fill}{'.' * (30 - fill)}] {share:4.0%}"
    else:
        bar = f"frame {frame}"
    sys.stderr.write(f"\r{name}  {bar}  {offset_s:7.1f} s  {tracks} tracks ")
    sys.stderr.flush()


def index(
    videos: Annotated[list[Path], typer.Argument(help="video files (anything FFmpeg decodes)")],
    actor: Annotated[Optional[str], typer.Option(help="who is indexing (audit log); default cli:<user>")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Index videos: face tracks with start and end offsets, best-shot templates and thumbnails (encrypted)."""
    quiet_runtimes()
    from ..apps.footage import FootageLibrary

    who = actor or default_actor()
    reports = []
    with FootageLibrary.open() as lib:
        for path in videos:
            r = lib.index_video(path, actor=who,
                                on_progress=lambda p, pr: _bar(p, pr.frame, pr.frames_total, pr.offset_s, pr.tracks))
            if sys.stderr.isatty():
                sys.stderr.write("\n")
            reports.append(r)
            if r.status == "failed":
                typer.echo(f"clearsight: error: {r.error}", err=True)
            elif not as_json:
                speed = f", {r.speed:.1f}x real time" if r.speed else ""
                typer.echo(f"{r.path}: {r.status}, {r.tracks} face tracks, {r.frames} frames{speed}")
    if as_json:
        echo_json([r.to_dict() for r in reports])
    if any(r.status == "failed" for r in reports):
        fail(InputError(f"{sum(r.status == 'failed' for r in reports)} of {len(reports)} videos could not be indexed"),
             reported=True)


def search(
    probe: Annotated[Path, typer.Argument(help="a photo of the person sought")],
    purpose: Annotated[Optional[str], typer.Option(help="investigation | missing_person (required)")] = None,
    legal_basis: Annotated[Optional[str], typer.Option(
        help="the legal basis of this search, e.g. 'court_order 2026/114' or 'vital_interests' (required)")] = None,
    top_k: Annotated[int, typer.Option(min=1, max=1000, help="candidates to list")] = 20,
    thumbnails: Annotated[Optional[Path], typer.Option(
        help="write each candidate's thumbnail (JPEG) into this folder (audited as an export)")] = None,
    actor: Annotated[Optional[str], typer.Option(help="who is searching (audit log); default cli:<user>")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Find appearances of a person in indexed footage: video, start-end time, thumbnail, similarity.

    Candidates mode: a ranked list for a person to review; `above_threshold` marks those past
    the candidates threshold (configured FPIR over all indexed tracks), never a match."""
    quiet_runtimes()
    from ..apps.footage import FootageLibrary

    who = actor or default_actor()
    with FootageLibrary.open() as lib:
        lib.check_request(purpose, legal_basis, who)  # refuse before loading any model
        result = lib.search(probe, purpose=purpose, legal_basis=legal_basis, actor=who, top_k=top_k)
        thumbs: dict[int, str] = {}
        if thumbnails is not None:
            thumbnails.mkdir(parents=True, exist_ok=True)
            for h in result.hits:
                out = thumbnails / f"track-{h.track_id}.jpg"
                out.write_bytes(lib.thumbnail(h.track_id, actor=who))
                thumbs[h.track_id] = str(out)
    if as_json:
        d = result.to_dict()
        for h in d["hits"]:
            h["thumbnail"] = thumbs.get(h["track_id"])
        echo_json(d)
        return
    thr = f"{result.threshold:.3f}" if result.threshold is not None else "none (not calibrated)"
    typer.echo(f"{len(result.hits)} candidates for review ({result.purpose}; threshold {thr} at FPIR {result.fpir:g} "
               f"over {result.n} tracks)")
    if result.hits:
        echo_table(["similarity", "", "time", "video", "thumbnail"],
                   [[f"{h.similarity:.3f}", "*" if h.above_threshold else "", h.span, h.video,
                     thumbs.get(h.track_id, f"track {h.track_id}")] for h in result.hits])


def videos(as_json: JsonOpt = False) -> None:
    """Indexed videos: status, duration and face tracks."""
    from ..apps.footage import FootageLibrary, clock

    with FootageLibrary.open() as lib:
        vids = lib.videos()
    if as_json:
        echo_json([v.to_dict() for v in vids])
        return
    if not vids:
        typer.echo("no indexed videos")
        return
    echo_table(["video_id", "status", "duration", "tracks", "path"],
               [[v.video_id, v.status, clock(v.duration_s) if v.duration_s else "-", str(v.tracks), v.path]
                for v in vids])


def erase(
    video_id: Annotated[str, typer.Argument(help="a video_id from `clearsight footage videos`")],
    actor: Annotated[Optional[str], typer.Option(help="who is erasing (audit log); default cli:<user>")] = None,
) -> None:
    """Delete a video's face tracks, templates and thumbnails (audited)."""
    from ..apps.footage import FootageLibrary

    with FootageLibrary.open() as lib:
        n = lib.erase_video(video_id, actor=actor or default_actor())
    typer.echo(f"erased {n} face tracks of {video_id}")


FOOTAGE_COMMANDS = (("index", index), ("search", search), ("videos", videos), ("erase", erase))

__all__ = ["FOOTAGE_COMMANDS"]
