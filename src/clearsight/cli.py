"""The `clearsight` command: a thin layer over the Python API.

Exit codes follow shell habits: 0 success (for `verify`: same person), 1 a
negative answer (`verify`: different people), 2 bad input or usage, 3 a model
problem. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import ClearsightError

app = typer.Typer(
    name="clearsight",
    help="Open, privacy-first vision AI: faces, video analytics, driver monitoring, effects. Runs offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# `clearsight keys ...`: template-protection keys (gallery) and API keys (service)
# share one group; each area adds its sub-commands in its register().
keys_app = typer.Typer(help="Keys: template-protection keys and API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

# Feature areas add their own commands: each module has `register(app)`.
_COMMAND_MODULES = (
    "clearsight.gallery.cli",
    "clearsight.server.cli",
    "clearsight.stream.cli",
    "clearsight.apps.dms.cli",
    "clearsight.apps.effects.cli",
    "clearsight.models.cli",
)


def _fail(exc: ClearsightError) -> None:
    typer.echo(f"clearsight: error: {exc}", err=True)
    raise typer.Exit(exc.exit_code)


def _quiet_runtimes() -> None:
    # MediaPipe/TFLite log to stderr from C++; the user asked for faces, not logs.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore", module="google.protobuf")


@app.command()
def detect(
    images: Annotated[list[Path], typer.Argument(help="image files (JPEG, PNG, WebP, BMP, TIFF)")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON lines, one per image")] = False,
    draw: Annotated[Optional[Path], typer.Option(help="write an annotated copy (a directory when several images)")] = None,
    detector: Annotated[Optional[str], typer.Option(help="mediapipe | centerface | dlib-hog")] = None,
    mesh: Annotated[bool, typer.Option(help="also fit the 478-point face mesh")] = False,
    quality: Annotated[bool, typer.Option(help="report a quality assessment per face")] = False,
) -> None:
    """Find faces: box, score, five landmarks (and optionally mesh and quality)."""
    _quiet_runtimes()
    from .face.pipeline import FacePipeline
    from .io import load_image, save_image
    from .vision.drawing import draw_faces
    from .vision.quality import assess_quality

    pipe = FacePipeline(detector=detector)
    failed = 0
    for path in images:
        try:
            rgb = load_image(path)
            faces = pipe.detect(rgb, mesh=mesh)
        except ClearsightError as exc:
            typer.echo(f"clearsight: error: {exc}", err=True)
            failed = exc.exit_code
            continue
        records = []
        for f in faces:
            rec = f.to_dict()
            if quality:
                rec["quality"] = assess_quality(rgb, f, pipe.settings).to_dict()
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
                typer.echo(line)
        if draw is not None:
            out = draw / path.name if (len(images) > 1 or draw.is_dir()) else draw
            if len(images) > 1:
                draw.mkdir(parents=True, exist_ok=True)
            try:
                save_image(draw_faces(rgb, faces), out)
            except ClearsightError as exc:
                _fail(exc)
    if failed:
        raise typer.Exit(failed)


@app.command()
def verify(
    a: Annotated[Path, typer.Argument(help="first image (e.g. a selfie)")],
    b: Annotated[Path, typer.Argument(help="second image (e.g. an ID photo)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    operating_point: Annotated[str, typer.Option("--operating-point", "-p", help="strict | balanced | lenient")] = "balanced",
) -> None:
    """Are the largest faces in A and B the same person? Exit 0 if so, 1 if not."""
    _quiet_runtimes()
    from .face.pipeline import FacePipeline

    try:
        result = FacePipeline().verify(a, b, operating_point)
    except ClearsightError as exc:
        _fail(exc)
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


@app.command()
def models(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List every registered model: task, source, size, checksum, licence."""
    from .models import status

    rows = status()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": s.spec.name,
                        "task": s.spec.task,
                        "source": s.spec.source,
                        "path": str(s.path) if s.path else None,
                        "size": s.size,
                        "checksum_ok": s.checksum_ok,
                        "sha256": s.spec.sha256,
                        "licence": s.spec.licence,
                        "problem": s.problem,
                    }
                    for s in rows
                ],
                indent=2,
            )
        )
        return
    headers = ("name", "task", "source", "size", "checksum", "licence")
    data = [
        (
            s.spec.name,
            s.spec.task,
            s.spec.source,
            f"{s.size / 1e6:.1f} MB" if s.size else "-",
            "OK" if s.checksum_ok else f"FAIL {s.problem}",
            s.spec.licence,
        )
        for s in rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in data)) for i, h in enumerate(headers)]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for r in data:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    if not all(s.checksum_ok for s in rows):
        raise typer.Exit(3)


def _register_feature_commands() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that feature area is not part of this build
            raise
        module.register(app)


_register_feature_commands()


def main() -> None:
    try:
        app()
    except ClearsightError as exc:  # commands handle their own; this is the backstop
        typer.echo(f"clearsight: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
