"""`clearsight serve` and `clearsight keys create|list|revoke` (API keys)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from .common import quiet_runtimes

if TYPE_CHECKING:
    from ..config import Settings
    from ..server.auth import KeyStore

DataDirOpt = Annotated[Optional[Path], typer.Option("--data-dir", help="gallery, keys and audit log live here")]


@contextmanager
def _key_store(settings: Settings) -> Iterator[KeyStore]:
    """The API keys of `settings`' data dir, after migrating a data dir of an older layout."""
    from ..db import upgrade_data_dir
    from ..server.auth import KeyStore

    upgrade_data_dir(settings)
    store = KeyStore.open(settings)
    try:
        yield store
    finally:
        store.close()


def _settings(data_dir: Path | None) -> Settings:
    from ..config import get_settings

    if data_dir is not None:
        os.environ["CLEARSIGHT_DATA_DIR"] = str(data_dir)  # so every layer (and uvicorn workers) agree
        get_settings.cache_clear()
    return get_settings()


def ensure_admin_key(settings: Settings) -> str | None:
    """On a fresh data dir, create the first admin key and return it (else None)."""
    from ..server.auth import Role

    with _key_store(settings) as store:
        if store.has_active_admin():
            return None
        _, plain = store.create(Role.ADMIN, "first admin (created by clearsight serve)")
        return plain


def serve(
    host: Annotated[
        Optional[str], typer.Option(help="interface to listen on [default: 127.0.0.1; 0.0.0.0 exposes it to the network]")
    ] = None,
    port: Annotated[Optional[int], typer.Option(help="TCP port [default: 8000]")] = None,
    data_dir: DataDirOpt = None,
    log_level: Annotated[str, typer.Option(help="critical | error | warning | info | debug")] = "info",
    workers: Annotated[
        Optional[int],
        typer.Option(min=1, max=64, help="inference worker processes (detect, embed, verify, search) "
                     "[default: one per core; 1 runs inference in the service process]"),
    ] = None,
) -> None:
    """Run the REST API and the web console. First start creates an admin key and prints it once."""
    quiet_runtimes()
    import uvicorn

    from ..server.app import create_app
    from ..server.inference import default_workers

    settings = _settings(data_dir)
    server = settings.server
    if workers is not None or "workers" not in server.model_fields_set:
        server = server.model_copy(update={"workers": workers or default_workers()})
    host = host or server.host
    port = port or server.port
    first_key = ensure_admin_key(settings)
    app = create_app(settings, server)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/"
    typer.echo(f"Clearsight console: {url}   API docs: {url}docs   data: {settings.data_dir}")
    if first_key:
        typer.echo(
            "\nFirst start: created an admin API key. Sign in to the console with it.\n"
            "It is shown only this once (only its hash is stored):\n\n"
            f"    {first_key}\n\n"
            "More keys: clearsight keys create --role operator|auditor|client\n"
        )
    typer.echo(f"Models load in the background ({server.workers} inference worker"
               f"{'s' if server.workers > 1 else ''}); /readyz reports when they are ready.")
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"Note: listening on {host}: put TLS (a reverse proxy) in front before exposing it to a network.")
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level in ("info", "debug"))


def keys_create(
    role: Annotated[str, typer.Option("--role", help="admin | operator | auditor | client")],
    name: Annotated[str, typer.Option(help="what the key is for (shown in lists and the audit log)")] = "",
    rate_limit: Annotated[Optional[int], typer.Option(help="requests per minute (default: the role's)")] = None,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an API key for the service; prints it once."""

    settings = _settings(data_dir)
    with _key_store(settings) as store:
        row, plain = store.create(role, name, rate_limit)
    if as_json:
        typer.echo(json.dumps({**row.to_dict(), "key": plain}))
    else:
        typer.echo(f"created {row.role.value} key {row.id} ({row.name}); it is shown only now:\n{plain}")


def keys_list(
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List API keys (never their secrets)."""

    settings = _settings(data_dir)
    with _key_store(settings) as store:
        rows = store.list()
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    if not rows:
        typer.echo("no API keys yet (clearsight serve creates the first admin key)")
        return
    for r in rows:
        state = f"revoked {r.revoked_at}" if r.revoked_at else f"last used {r.last_used_at or 'never'}"
        typer.echo(f"{r.id}  {r.role.value:<8}  {r.name:<40}  created {r.created_at}  {state}")


def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id (from `clearsight keys list`)")],
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir")] = None,
) -> None:
    """Revoke an API key at once."""

    settings = _settings(data_dir)
    with _key_store(settings) as store:
        row = store.revoke(key_id)
    typer.echo(f"revoked {row.role.value} key {row.id} ({row.name})")


API_KEY_COMMANDS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("create", keys_create),
    ("list", keys_list),
    ("revoke", keys_revoke),
)
