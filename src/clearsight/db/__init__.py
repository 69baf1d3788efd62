"""Persistence: engines, the table declarations of every area and their migrations.

Bottom layer (imports only SQLAlchemy, Alembic, errors and settings). Which file holds what:

- main database, `Settings.gallery_database_url()` (default `<data_dir>/gallery.db`):
  the gallery (identities, templates, groups, consents, audit log), API keys, saved
  cameras and the service-wide alert rules;
- events database, `Settings.events_database_url()` (default `<data_dir>/events.db`,
  high volume, its own SQLite file): the event timeline. On PostgreSQL it defaults
  to the main database, with its own tables and Alembic version table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from .base import DATABASES, BigId, Database, EventsBase, MainBase, as_utc, new_id, utcnow
from .engine import SqliteSynchronous, make_engine, session_factory
from .migrate import MIGRATIONS_DIR, SCHEMAS, connect, current_revision, head, migrate

if TYPE_CHECKING:
    from ..config import Settings


def database_url(settings: Settings, database: Database) -> str:
    return settings.gallery_database_url() if database == "main" else settings.events_database_url()


def open_engine(settings: Settings, database: Database) -> Engine:
    """`connect` to `settings`' `database`."""
    return connect(database_url(settings, database), database, sqlite_synchronous=settings.gallery.sqlite_synchronous)


def upgrade_data_dir(settings: Settings) -> dict[str, int]:
    """Bring a data dir of any earlier version to today's layout (idempotent; call at every start)."""
    from .legacy import upgrade_data_dir as _upgrade

    return _upgrade(settings)


__all__ = [
    "DATABASES", "MIGRATIONS_DIR", "SCHEMAS", "BigId", "Database", "EventsBase", "MainBase", "SqliteSynchronous",
    "as_utc", "connect", "current_revision", "database_url", "head", "make_engine", "migrate", "new_id", "open_engine",
    "session_factory", "upgrade_data_dir", "utcnow",
]
