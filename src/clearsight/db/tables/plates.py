"""Licence plates: reads, hot-lists and their plates (main database, migration 0004).

A read's crop is an AES-GCM blob under the snapshot key (`io.secrets.SealedBlob`),
never a plain image. Hot-lists carry the legal basis they were created under: the
alerting query checks it again, so a row written around the API cannot alert.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..base import BigId, MainBase


class PlateReadRow(MainBase):
    __tablename__ = "plate_reads"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    camera: Mapped[str] = mapped_column(String(255), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    text: Mapped[str] = mapped_column(String(32), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    country: Mapped[str] = mapped_column(String(8))
    track_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    votes: Mapped[int] = mapped_column(Integer, default=1)
    purpose: Mapped[str] = mapped_column(String(32))
    crop: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class HotListRow(MainBase):
    __tablename__ = "plate_hotlists"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    purpose: Mapped[str] = mapped_column(String(32))
    legal_basis: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    alert: Mapped[bool] = mapped_column(Boolean, default=True)


class HotListPlateRow(MainBase):
    __tablename__ = "plate_hotlist_entries"
    hotlist_id: Mapped[str] = mapped_column(ForeignKey("plate_hotlists.id", ondelete="CASCADE"), primary_key=True)
    text: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
    note: Mapped[str] = mapped_column(String(255), default="")
    added_by: Mapped[str] = mapped_column(String(255))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
