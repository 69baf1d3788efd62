"""Licence plates: reads (crops encrypted), hot-lists with their legal basis, hot-list plates (issue 14)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "plate_reads",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("camera", sa.String(255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.String(32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("country", sa.String(8), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("votes", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("crop", sa.LargeBinary(), nullable=True),
    )
    for col in ("camera", "at", "text"):
        op.create_index(f"ix_plate_reads_{col}", "plate_reads", [col])
    op.create_table(
        "plate_hotlists",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("legal_basis", sa.String(255), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alert", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "plate_hotlist_entries",
        sa.Column("hotlist_id", sa.String(32), sa.ForeignKey("plate_hotlists.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("text", sa.String(32), primary_key=True),
        sa.Column("note", sa.String(255), nullable=False),
        sa.Column("added_by", sa.String(255), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_plate_hotlist_entries_text", "plate_hotlist_entries", ["text"])


def downgrade() -> None:
    op.drop_index("ix_plate_hotlist_entries_text", "plate_hotlist_entries")
    op.drop_table("plate_hotlist_entries")
    op.drop_table("plate_hotlists")
    for col in ("camera", "at", "text"):
        op.drop_index(f"ix_plate_reads_{col}", "plate_reads")
    op.drop_table("plate_reads")
