"""KYC sessions and log-in lock-outs (main database, migration 0005).

A KYC session row holds the decision and its reasons, never an image, a template,
a name or a document number: what was read from the document goes back to the
caller once, in the response that decided the session. Log-in failures are counted
per identity in the database, not in a process, so a lock-out holds across worker
processes and restarts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..base import MainBase


class KycSessionRow(MainBase):
    __tablename__ = "kyc_sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)  # the API key (or CLI user) that runs it
    status: Mapped[str] = mapped_column(String(16))  # open | decided | expired
    liveness_session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)  # pass | review | fail
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    checks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LoginLockRow(MainBase):
    __tablename__ = "login_locks"
    identity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive, within the window
    first_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
