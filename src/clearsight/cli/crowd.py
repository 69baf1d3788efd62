"""`clearsight count`: people in photos, from sparse to dense (detector, density map, or both)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import ClearsightError, InputError
from .common import echo_error, fail, quiet_runtimes


def count(
    images: Annotated[list[Path], typer.Argument(help="image files (JPEG, PNG, WebP, BMP, TIFF)")],
    roi: Annotated[Optional[Path], typer.Option("--roi", help="counting region: a mask image of the same size as "
                                                 "every image, non-zero pixels inside")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array, one object per image")] = False,
    method: Annotated[str, typer.Option(help="combined (measured default) | detector | density")] = "combined",
) -> None:
    """Count people: boxes where the scene is sparse, a density map where it is dense."""
    quiet_runtimes()
    from ..io import load_image
    from ..vision.crowd import check_mask, create_counter, load_mask

    counter = create_counter(method)
    mask = load_mask(str(roi)) if roi is not None else None
    results: list[dict[str, object]] = []
    last_error: ClearsightError | None = None
    for path in images:
        try:
            rgb = load_image(path)
            m = check_mask(mask, rgb) if mask is not None else None
            c = counter.count(rgb, m)
        except InputError as exc:
            if mask is not None and "ROI mask" in str(exc):
                fail(exc)  # a wrong mask is wrong for the whole run: stop before printing partial output
            echo_error(exc)
            last_error = exc
            continue
        except ClearsightError as exc:
            echo_error(exc)
            last_error = exc
            continue
        value = round(c.count, 2)
        results.append({"image": str(path), "count": value, "method": c.method})
        if not as_json:
            typer.echo(f"{path}: {value:g} people ({c.method})")
    if as_json:
        typer.echo(json.dumps(results))
    if last_error is not None:
        fail(last_error, reported=True)
