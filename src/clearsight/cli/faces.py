"""`clearsight detect` and `clearsight verify`: faces in photos, 1:1 comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import ClearsightError
from .common import echo_error, fail, quiet_runtimes


def detect(
    images: Annotated[list[Path], typer.Argument(help="image files (JPEG, PNG, WebP, BMP, TIFF)")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON lines, one per image")] = False,
    draw: Annotated[Optional[Path], typer.Option(help="write an annotated copy (a directory when several images)")] = None,
    detector: Annotated[Optional[str], typer.Option(help="mediapipe | centerface | dlib-hog")] = None,
    mesh: Annotated[bool, typer.Option(help="also fit the 478-point face mesh")] = False,
    quality: Annotated[bool, typer.Option(help="report a quality assessment per face")] = False,
    liveness: Annotated[bool, typer.Option(help="also the passive liveness score per face")] = False,
) -> None:
    """Find faces: box, score, five landmarks (and optionally mesh, quality and liveness)."""
    quiet_runtimes()
    from ..face.pipeline import FacePipeline
    from ..io import load_image, save_image
    from ..vision.drawing import draw_faces
    from ..vision.quality import assess_quality

    pipe = FacePipeline(detector=detector)
    live_model = None
    if liveness:
        from ..face.liveness import PassiveLiveness

        live_model = PassiveLiveness()
    last_error: ClearsightError | None = None
    for path in images:
        try:
            rgb = load_image(path)
            faces = pipe.detect(rgb, mesh=mesh or liveness)
            lives = [live_model.check(rgb, f) for f in faces] if live_model is not None else []
        except ClearsightError as exc:  # one bad file must not hide the others' faces
            echo_error(exc)
            last_error = exc
            continue
        records = []
        for f in faces:
            rec = f.to_dict()
            if quality:
                rec["quality"] = assess_quality(rgb, f, pipe.settings).to_dict()
            if lives:
                lv = lives[faces.index(f)].to_dict()
                rec["liveness"] = {k: lv[k] for k in ("live_score", "is_live", "method", "models")}
            if not mesh:
                rec.pop("mesh_points", None)
            records.append(rec)
        if as_json:
            typer.echo(json.dumps({"image": str(path), "width": rgb.shape[1], "height": rgb.shape[0], "faces": records}))
        else:
            typer.echo(f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''}")
            for i, rec in enumerate(records):
                b = rec["box"]
                line = f"  #{i} score {rec['score']:.2f}  box ({b['x1']:.0f},{b['y1']:.0f})-({b['x2']:.0f},{b['y2']:.0f})"
                if quality:
                    q = rec["quality"]
                    line += f"  quality {q['score']:.2f} {'ok' if q['passed'] else ', '.join(q['reasons'])}"
                if "liveness" in rec:
                    line += f"  live {rec['liveness']['live_score']:.2f}"
                typer.echo(line)
        if draw is not None:
            out = draw / path.name if (len(images) > 1 or draw.is_dir()) else draw
            if len(images) > 1:
                draw.mkdir(parents=True, exist_ok=True)
            save_image(draw_faces(rgb, faces), out)
    if last_error is not None:
        fail(last_error, reported=True)


def verify(
    a: Annotated[Path, typer.Argument(help="first image (e.g. a selfie)")],
    b: Annotated[Path, typer.Argument(help="second image (e.g. an ID photo)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    operating_point: Annotated[str, typer.Option("--operating-point", "-p", help="strict | balanced | lenient")] = "balanced",
) -> None:
    """Are the largest faces in A and B the same person? Exit 0 if so, 1 if not."""
    quiet_runtimes()
    from ..face.pipeline import FacePipeline

    result = FacePipeline().verify(a, b, operating_point)
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
    else:
        verdict = "same person" if result.is_match else "different people"
        typer.echo(
            f"{verdict}: similarity {result.similarity:.3f} "
            f"({'>=' if result.is_match else '<'} {result.threshold:.3f}, operating point {result.operating_point}, "
            f"false-match rate {result.target_fmr:g})"
        )
    raise typer.Exit(0 if result.is_match else 1)


def register(app: typer.Typer) -> None:
    app.command()(detect)
    app.command()(verify)
