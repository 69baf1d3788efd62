"""The event timeline (`cs_events`, prefixed so it can share a server database with the gallery)."""

from __future__ import annotations

from sqlalchemy import Float, Index, LargeBinary, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..base import BigId, EventsBase


class EventRow(EventsBase):
    __tablename__ = "cs_events"
    __table_args__ = (
        Index("ix_cs_events_camera_time", "camera", "time"),
        Index("ix_cs_events_type_time", "type", "time"),
        Index("ix_cs_events_camera_offset", "camera", "offset_s"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64))
    camera: Mapped[str] = mapped_column(String(200))
    time: Mapped[float] = mapped_column(Float)
    track_ids: Mapped[str] = mapped_column(Text)  # JSON list
    data: Mapped[str] = mapped_column(Text)  # JSON object
    snapshot: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    offset_s: Mapped[float | None] = mapped_column(Float, nullable=True)  # seconds from the source's start
    frame: Mapped[int | None] = mapped_column(BigId, nullable=True)  # the source's frame index


events_table: Table = EventRow.__table__  # type: ignore[assignment]
