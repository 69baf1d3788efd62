"""Saved cameras: what the service restores at start (those that were running start again).

Rows in the main database (`cameras`); a camera's config is stored as the JSON
its `CameraConfig` dumps and validated by the caller when it is restored, so one
config an older version wrote cannot stop the others from loading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from ..db import SqliteSynchronous, connect, session_factory, utcnow
from ..db.tables.cameras import CameraRow

if TYPE_CHECKING:
    from ..config import Settings


@dataclass(frozen=True, slots=True)
class SavedCamera:
    name: str
    config: dict[str, Any]
    running: bool


class CameraStore:
    """The saved cameras, by name."""

    def __init__(self, url: str, *, sqlite_synchronous: SqliteSynchronous = "FULL") -> None:
        self.url = url
        self._engine = connect(url, "main", sqlite_synchronous=sqlite_synchronous)
        self._Session = session_factory(self._engine)

    @classmethod
    def open(cls, settings: Settings) -> CameraStore:
        return cls(settings.gallery_database_url(), sqlite_synchronous=settings.gallery.sqlite_synchronous)

    def list(self) -> list[SavedCamera]:
        """Every saved camera, by name."""
        with self._Session() as s:
            rows = s.scalars(select(CameraRow).order_by(CameraRow.name)).all()
            return [SavedCamera(r.name, dict(r.config), r.running) for r in rows]

    def get(self, name: str) -> SavedCamera | None:
        with self._Session() as s:
            r = s.get(CameraRow, name)
            return SavedCamera(r.name, dict(r.config), r.running) if r is not None else None

    def save(self, name: str, config: dict[str, Any], running: bool) -> None:
        """Insert or replace the camera `name`."""
        with self._Session.begin() as s:
            s.merge(CameraRow(name=name, config=config, running=running, updated_at=utcnow()))

    def delete(self, name: str) -> bool:
        """Forget the camera `name`; False if it was not saved."""
        with self._Session.begin() as s:
            return s.execute(delete(CameraRow).where(CameraRow.name == name)).rowcount > 0

    def close(self) -> None:
        self._engine.dispose()
