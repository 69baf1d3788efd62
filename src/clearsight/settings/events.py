"""The event store: where the timeline of every camera and app is kept."""

from __future__ import annotations

from pydantic import BaseModel, Field


class EventSettings(BaseModel):
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the event store. None: the gallery's database when that is a server "
        "(PostgreSQL), otherwise <data_dir>/events.db: events are high-volume and keep their own SQLite file.",
    )
    keep_snapshots: bool = Field(True, description="Store the JPEG snapshot an event carries.")
