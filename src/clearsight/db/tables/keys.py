"""API keys: only the SHA-256 of each secret is stored; times are ISO-8601 UTC strings."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..base import MainBase


class ApiKeyRow(MainBase):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(40))
    revoked_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_used_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    rate_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
