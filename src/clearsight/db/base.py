"""The declarative bases, one per database, and the column helpers every table shares.

Two databases because events are high-volume: on SQLite they keep their own file
(`events.db`, separate backups and vacuum), everything else lives in the main one
(`gallery.db`). On PostgreSQL both may be one database; each keeps its own Alembic
version table, so their migrations never see each other.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Literal

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import DeclarativeBase

Database = Literal["main", "events"]
DATABASES: tuple[Database, ...] = ("main", "events")

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit id.
BigId = BigInteger().with_variant(Integer, "sqlite")


class MainBase(DeclarativeBase):
    """Gallery, API keys, cameras and rules: `Settings.gallery_database_url()`."""


class EventsBase(DeclarativeBase):
    """The event timeline: `Settings.events_database_url()`."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(dt: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; every value we store is UTC."""
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex
