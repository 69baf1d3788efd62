"""`clearsight plates`: read licence plates in photos.

Reading is stateless here: nothing is stored, so no purpose or retention applies to
this command (the plate store and hot-lists of the service record both). One bad
file never hides the plates of the others: it gets an "error" in its JSON object (or
a line on stderr) and the command exits 2 once every image has been tried.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import ClearsightError
from .common import echo_error, fail, quiet_runtimes


def plates(
    images: Annotated[list[Path], typer.Argument(help="image files (JPEG, PNG, WebP, BMP, TIFF)")],
    country: Annotated[str, typer.Option(help="cn | eu | us | br | auto (decide by which plate formats match)")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON array, one object per image in input order")] = False,
    reader: Annotated[
        Optional[str], typer.Option(help="a reader by name instead of the default for the country (e.g. the opt-in, AGPL-3.0 platedet)")
    ] = None,
) -> None:
    """Read licence plates: text (A-Z 0-9; Chinese plates keep the province), confidence, box, country."""
    quiet_runtimes()
    from ..io import load_image
    from ..vision.plates import create_plate_reader, read_plates
    from ..vision.plates.base import check_country

    c = check_country(country)  # a bad option fails before any image is read
    chosen = create_plate_reader(reader, **({} if reader == "clpr" else {"country": c})) if reader else None
    results: list[dict[str, Any]] = []
    last_error: ClearsightError | None = None
    for path in images:
        entry: dict[str, Any] = {"image": str(path)}
        try:
            rgb = load_image(path)
            reads = chosen.read(rgb) if chosen is not None else read_plates(rgb, country=c)
            entry["plates"] = [r.to_dict() for r in reads]
        except ClearsightError as exc:  # one bad file must not hide the others' plates
            entry["error"] = str(exc)
            last_error = exc
            if not as_json:
                echo_error(exc)
        results.append(entry)
        if not as_json and "plates" in entry:
            _echo_human(entry)
    if as_json:
        typer.echo(json.dumps(results, indent=2, ensure_ascii=False))  # province characters stay readable
    if last_error is not None:
        fail(last_error, reported=True)


def _echo_human(entry: dict[str, Any]) -> None:
    found = entry["plates"]
    typer.echo(f"{entry['image']}: {len(found)} plate{'s' if len(found) != 1 else ''}")
    for p in found:
        x1, y1, x2, y2 = p["box"]
        typer.echo(f"  {p['text']:<10} {p['country']}  confidence {p['confidence']:.2f}  box ({x1:.0f},{y1:.0f})-({x2:.0f},{y2:.0f})")
