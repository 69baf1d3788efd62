"""What every command shares: the one error-to-exit-code path, quiet runtimes, tables, JSON.

Exit codes follow shell habits: 0 success (for `verify`: same person), 1 a
negative answer (`verify`: different people, `search`: no match), 2 bad input or
usage, 3 a model problem, 4 not found, 5 consent required. Errors are one line on
stderr, never a traceback.
"""

from __future__ import annotations

import getpass
import json
import warnings
from collections.abc import Sequence
from typing import Annotated, NoReturn

import click
import typer
from typer.core import TyperGroup

from ..errors import ClearsightError

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def echo_error(exc: ClearsightError) -> None:
    """One line on stderr; for commands that report per-item errors and go on."""
    typer.echo(f"clearsight: error: {exc}", err=True)


def fail(exc: ClearsightError, *, reported: bool = False) -> NoReturn:
    """The only place a `ClearsightError` becomes an exit code.

    `reported=True` when the message is already on stderr (a command that kept
    going over several inputs and printed each error as it happened).
    """
    if not reported:
        echo_error(exc)
    raise typer.Exit(exc.exit_code)


class ClearsightGroup(TyperGroup):
    """The root command group: every sub-command's `ClearsightError` ends in `fail()`,
    so commands raise domain errors and never translate them themselves."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ClearsightError as exc:
            fail(exc)


def quiet_runtimes() -> None:
    """Python-side noise of the model stacks (protobuf deprecation warnings): the user asked
    for faces, not logs. The native libraries are quietened once, at `import clearsight`."""
    warnings.filterwarnings("ignore", module="google.protobuf")


def default_actor() -> str:
    """Who the audit log records for a shell user."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "cli"


def echo_json(obj: object, *, indent: int | None = 2) -> None:
    typer.echo(json.dumps(obj, indent=indent, default=str))


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Left-aligned columns as wide as their widest cell, two spaces apart."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for r in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)))
