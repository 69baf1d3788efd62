"""The `clearsight` command: a thin layer over the Python API.

Every command lives in this package, one module per command group; the areas
below hold no Typer code. Commands raise `ClearsightError`s; the root group hands
them to `common.fail`, the one place an error becomes a message and an exit code
(see `common` for the codes).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import typer

from . import crowd, dms, effects, facepay, faces, footage, gallery, kyc, liveness, models, photos, plates, server, stream
from .common import ClearsightGroup

Command = tuple[str, Callable[..., None]]

app = typer.Typer(
    cls=ClearsightGroup,
    name="clearsight",
    help="Open, privacy-first vision AI: faces, video analytics, driver monitoring, effects. Runs offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMANDS: tuple[Command, ...] = (
    ("detect", faces.detect),
    ("verify", faces.verify),
    ("liveness", liveness.liveness),
    ("kyc", kyc.kyc),
    ("models", models.models),
    ("enrol", gallery.enrol),
    ("search", gallery.search),
    ("serve", server.serve),
    ("run", stream.run),
    ("redact", stream.redact),
    ("dms", dms.dms),
    ("effects", effects.effects),
    ("build-models", models.build_models),
    ("count", crowd.count),
    ("plates", plates.plates),
)

# Spellings of 0.1 that scripts may still call: hidden from --help, marked deprecated.
DEPRECATED_ALIASES: tuple[Command, ...] = (("enroll", gallery.enrol),)

# `clearsight keys ...` gathers the template-protection key (gallery) and the API keys (service).
GROUPS: tuple[tuple[str, str, tuple[Command, ...]], ...] = (
    ("keys", "Keys: template-protection keys and API keys.", (("rotate", gallery.rotate), *server.API_KEY_COMMANDS)),
    ("gallery", "The identity gallery: list, show, erase, purge, audit.", gallery.GALLERY_COMMANDS),
    ("facepay", "Ticketless metro face-pay: riders, gates, passages, the ledger, reports.", facepay.FACEPAY_COMMANDS),
    ("footage", "Footage search: index recorded video by face, find a person in it by a photo.",
     footage.FOOTAGE_COMMANDS),
    ("photos", "The photo library: import, people, name, merge, split, move, search, erase.",
     photos.PHOTOS_COMMANDS),
)


def _register(target: typer.Typer, commands: tuple[Command, ...]) -> None:
    for name, callback in commands:
        target.command(name)(callback)


_register(app, COMMANDS)
for _name, _callback in DEPRECATED_ALIASES:
    app.command(_name, hidden=True, deprecated=True)(_callback)
for _name, _help, _commands in GROUPS:
    _group = typer.Typer(help=_help, no_args_is_help=True)
    _register(_group, _commands)
    app.add_typer(_group, name=_name)


def main() -> None:
    # Files the CLI and the service create hold biometric data, keys or the audit log:
    # private to the user unless a file's own code chose otherwise.
    os.umask(0o077)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main"]
