"""`clearsight photos ...`: the photo library (import, people, name, merge, split, move, search, erase).

Exit codes: 0 ok (an import that skipped bad files included: they are listed on stderr),
1 a search that found nothing, 2 bad input, 4 not found, 5 no basis to name or search.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from .common import JsonOpt, default_actor, echo_json, echo_table, quiet_runtimes

if TYPE_CHECKING:
    from ..apps.photos import PhotoLibrary

ActorOpt = Annotated[str, typer.Option(help="who is doing this (recorded in the audit log)")]


def _open() -> PhotoLibrary:
    from ..apps.photos import PhotoLibrary

    quiet_runtimes()
    return PhotoLibrary.open()


def import_(
    folder: Annotated[Path, typer.Argument(help="a folder of photos (searched recursively)")],
    actor: ActorOpt = default_actor(),
    progress: Annotated[bool, typer.Option(help="show a progress bar on stderr")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Import photos: EXIF date and orientation, duplicates skipped by content, thumbnails,
    every face detected, embedded and grouped by person. Run it again to resume or to add new photos."""
    from tqdm import tqdm

    with _open() as lib:
        bar = None

        def step(done: int, total: int, path: str) -> None:
            nonlocal bar
            if bar is None:
                bar = tqdm(total=total, unit="photo", disable=not progress, file=None, dynamic_ncols=True)
            bar.update(1)

        try:
            report = lib.import_dir(folder, actor=actor, progress=step)
        finally:
            if bar is not None:
                bar.close()
        for p in report.problems:
            typer.echo(f"clearsight: skipped {p.path}: {p.message}", err=True)
        if as_json:
            echo_json(report.to_dict())
        else:
            typer.echo(f"{report.imported} photos imported ({report.faces} faces, {report.new_people} new people), "
                       f"{report.duplicates} already in the library, {len(report.problems)} skipped, "
                       f"of {report.found} found")


def people(as_json: JsonOpt = False) -> None:
    """Everyone in the library, singletons included (unnamed people have no name)."""
    with _open() as lib:
        if as_json:
            echo_json(lib.people_with_photos())
            return
        rows = [[p.id, p.name or "-", str(p.photos), str(p.faces)] for p in lib.people()]
        if rows:
            echo_table(["person", "name", "photos", "faces"], rows)
        else:
            typer.echo("the library has no people yet: clearsight photos import DIR")


def name(
    person: Annotated[str, typer.Argument(help="person id")],
    new_name: Annotated[str, typer.Argument(metavar="NAME", help="the name to give")],
    basis: Annotated[str, typer.Option(help="consent or legal basis for naming them (purpose photos)")] = "",
    expires: Annotated[Optional[datetime], typer.Option(help="when that basis ends (ISO date/time, UTC)")] = None,
    actor: ActorOpt = default_actor(),
) -> None:
    """Name a person (records the `photos` consent or legal basis; audited)."""
    with _open() as lib:
        p = lib.name_person(person, new_name, legal_basis=basis, actor=actor, expires_at=expires)
        typer.echo(f"{p.id}: {p.name} ({p.photos} photos)")


def merge(
    keep: Annotated[str, typer.Argument(help="the person who stays")],
    other: Annotated[str, typer.Argument(help="the person merged into them")],
    actor: ActorOpt = default_actor(),
) -> None:
    """Merge two people who are one."""
    with _open() as lib:
        p = lib.merge_people(keep, other, actor=actor)
        typer.echo(f"{p.id}: {p.name or '-'} ({p.photos} photos, {p.faces} faces)")


def split(
    person: Annotated[str, typer.Argument(help="person id")],
    faces: Annotated[list[int], typer.Argument(help="face ids that become a new person")],
    actor: ActorOpt = default_actor(),
) -> None:
    """Split faces off a person into a new, anonymous person."""
    with _open() as lib:
        p = lib.split_person(person, faces, actor=actor)
        typer.echo(f"new person {p.id} ({p.faces} faces)")


def move(
    face: Annotated[int, typer.Argument(help="face id")],
    person: Annotated[str, typer.Argument(help="the person it belongs to")],
    actor: ActorOpt = default_actor(),
) -> None:
    """Move one face to another person."""
    with _open() as lib:
        lib.move_face(face, person, actor=actor)
        typer.echo(f"face {face} -> {person}")


def faces(person: Annotated[str, typer.Argument(help="person id")], as_json: JsonOpt = False) -> None:
    """A person's faces (ids for split and move)."""
    with _open() as lib:
        found = lib.person_faces(person)
        paths = {p.id: p.path for p in lib.person_photos(person)}
        if as_json:
            echo_json([{"face_id": f.id, "photo": paths.get(f.photo_id), "box": f.box} for f in found])
            return
        echo_table(["face", "photo"], [[str(f.id), paths.get(f.photo_id, "?")] for f in found])


def search(
    people_: Annotated[list[str], typer.Argument(metavar="PERSON...", help="names (or ids) of named people: "
                                                                           "photos showing all of them")],
    since: Annotated[Optional[datetime], typer.Option(help="taken at or after (ISO date/time)")] = None,
    until: Annotated[Optional[datetime], typer.Option(help="taken before (ISO date/time)")] = None,
    actor: ActorOpt = default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Photos of X, or of X and Y together, optionally by date (audited)."""
    with _open() as lib:
        found = lib.search(people_, actor=actor, since=since, until=until)
        if as_json:
            echo_json([p.to_dict() for p in found])
        else:
            for p in found:
                typer.echo(f"{p.taken_at.isoformat() if p.taken_at else '-':25}  {p.path}")
    if not found:
        raise typer.Exit(1)


def erase(
    person: Annotated[str, typer.Argument(help="person id")],
    actor: ActorOpt = default_actor(),
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
) -> None:
    """Erase a person: their faces, templates and naming basis (the photos stay)."""
    if not yes:
        typer.confirm(f"erase person {person} and all their faces?", abort=True)
    with _open() as lib:
        out = lib.erase_person(person, actor=actor)
        typer.echo(f"erased {person}: {out['faces']} faces")


PHOTOS_COMMANDS = (
    ("import", import_), ("people", people), ("name", name), ("merge", merge), ("split", split), ("move", move),
    ("faces", faces), ("search", search), ("erase", erase),
)
