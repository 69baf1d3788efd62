"""Saved cameras and the service-wide alert rules.

A camera's config is kept as the JSON its pydantic model dumps, so the schema does
not change with every new camera option; the stream area validates it on load.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..base import MainBase


class CameraRow(MainBase):
    __tablename__ = "cameras"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    running: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RuleRow(MainBase):
    """One rule of the ordered service-wide rule set (order matters: it is the evaluation order)."""

    __tablename__ = "camera_rules"
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
