"""Footage search: indexed videos and their face tracks (templates and thumbnails encrypted) (issue 18)

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "footage_videos",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("frames_total", BigId, nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("resume_frame", BigId, nullable=False),
        sa.Column("frames_done", BigId, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "footage_tracks",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("video_id", sa.String(36), sa.ForeignKey("footage_videos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("start_frame", BigId, nullable=False),
        sa.Column("end_frame", BigId, nullable=False),
        sa.Column("best_frame", BigId, nullable=False),
        sa.Column("best_s", sa.Float(), nullable=False),
        sa.Column("quality", sa.Float(), nullable=False),
        sa.Column("detections", sa.Integer(), nullable=False),
        sa.Column("box", sa.Text(), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_footage_tracks_video_id", "footage_tracks", ["video_id"])


def downgrade() -> None:
    op.drop_table("footage_tracks")
    op.drop_table("footage_videos")
