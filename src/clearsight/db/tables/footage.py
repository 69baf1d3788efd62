"""Footage search: indexed videos and the face tracks found in them (main database, migration 0008).

A track's best-shot template is stored like a gallery template (key-transformed,
AES-GCM under the template key ring, its ciphertext bound to the track) and its
thumbnail is an AES-GCM blob under the same ring: footage faces are biometric data
of people who never enrolled. They live in tables of their own, never in
`templates`, so no gallery search can reach them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..base import BigId, MainBase


class FootageVideoRow(MainBase):
    """One video file, known by its content hash: a renamed copy is the same video."""

    __tablename__ = "footage_videos"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # indexing | done | failed
    fps: Mapped[float | None] = mapped_column(Float, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    frames_total: Mapped[int | None] = mapped_column(BigId, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    resume_frame: Mapped[int] = mapped_column(BigId, default=0)  # replay from here after an interruption
    frames_done: Mapped[int] = mapped_column(BigId, default=0)  # progress: frames read so far
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class FootageTrackRow(MainBase):
    """One face track: where it is in the video, its best shot's template and thumbnail."""

    __tablename__ = "footage_tracks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    video_id: Mapped[str] = mapped_column(String(36), ForeignKey("footage_videos.id", ondelete="CASCADE"), index=True)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    start_frame: Mapped[int] = mapped_column(BigId)
    end_frame: Mapped[int] = mapped_column(BigId)
    best_frame: Mapped[int] = mapped_column(BigId)
    best_s: Mapped[float] = mapped_column(Float)
    quality: Mapped[float] = mapped_column(Float)
    detections: Mapped[int] = mapped_column(Integer)
    box: Mapped[str] = mapped_column(Text)  # JSON: the best shot's box in the frame
    model: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # encrypted JPEG
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
