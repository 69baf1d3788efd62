"""API keys, saved cameras and alert rules move into the main database

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
        sa.Column("last_used_at", sa.String(40), nullable=True),
        sa.Column("rate_limit", sa.Integer(), nullable=True),
    )
    op.create_table(
        "cameras",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "camera_rules",
        sa.Column("position", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("rule", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    for t in ("camera_rules", "cameras", "api_keys"):
        op.drop_table(t)
