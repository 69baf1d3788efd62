"""Schema upgrades of both databases through the one Alembic environment (`db/migrations`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, Engine

from . import tables  # noqa: F401 - fills both metadata objects
from .base import Database, EventsBase, MainBase
from .engine import SqliteSynchronous, make_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_PG_MIGRATION_LOCK = 726354  # pg_advisory_xact_lock key: one migrating process at a time


@dataclass(frozen=True, slots=True)
class Schema:
    """What Alembic needs to know about one database.

    `adopt`: a table that code from before Alembic created itself; found without a
    version table, the database is stamped at `adopt_revision` instead of migrated
    from nothing (today's `events.db` files)."""

    metadata: MetaData
    branch: str
    version_table: str
    adopt: str | None = None
    adopt_revision: str | None = None


SCHEMAS: dict[Database, Schema] = {
    # `alembic_version` is the table existing gallery databases already carry.
    "main": Schema(MainBase.metadata, "main", "alembic_version"),
    "events": Schema(EventsBase.metadata, "events", "alembic_version_events", "cs_events", "events_0001"),
}


def _config(conn: Connection, database: Database) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    cfg.attributes["database"] = database
    return cfg


@cache
def head(database: Database) -> str:
    """The newest revision of `database`'s branch."""
    from alembic.script import ScriptDirectory

    rev = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(f"{SCHEMAS[database].branch}@head")
    assert rev is not None
    return rev.revision


def migrate(engine: Engine, database: Database = "main") -> None:
    """Bring `database`'s schema to its newest revision (idempotent, safe from many processes)."""
    from alembic import command
    from alembic.migration import MigrationContext

    schema = SCHEMAS[database]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # two services starting at once must not both create the tables
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        # every store migrates on open: at head, skip loading the scripts
        ctx = MigrationContext.configure(conn, opts={"version_table": schema.version_table})
        if ctx.get_current_revision() == head(database):
            return
        cfg = _config(conn, database)
        if schema.adopt is not None:
            names = set(inspect(conn).get_table_names())
            if schema.adopt in names and schema.version_table not in names:
                command.stamp(cfg, schema.adopt_revision)
        command.upgrade(cfg, f"{schema.branch}@head")


def current_revision(engine: Engine, database: Database = "main") -> str | None:
    """The revision `database` is at (None: never migrated)."""
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": SCHEMAS[database].version_table})
        return ctx.get_current_revision()


def connect(url: str, database: Database, *, sqlite_synchronous: SqliteSynchronous = "FULL") -> Engine:
    """An engine on `url`, holding `database`, its schema migrated to the newest revision.

    Every store opens through here, so no table is ever used before its migration ran."""
    engine = make_engine(url, sqlite_synchronous=sqlite_synchronous)
    try:
        migrate(engine, database)
    except BaseException:
        engine.dispose()
        raise
    return engine
