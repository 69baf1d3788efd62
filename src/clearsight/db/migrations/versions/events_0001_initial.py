"""the event timeline (events database; branch `events` starts here)

The table is the one `EventStore` created itself before the store joined Alembic;
`clearsight.db.migrate` stamps such a database at this revision instead of running it.

Revision ID: events_0001
Revises:
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "events_0001"
down_revision = None
branch_labels = ("events",)
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cs_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("camera", sa.String(200), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("track_ids", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("snapshot", sa.LargeBinary(), nullable=True),
    )
    op.create_index("ix_cs_events_camera_time", "cs_events", ["camera", "time"])
    op.create_index("ix_cs_events_type_time", "cs_events", ["type", "time"])


def downgrade() -> None:
    op.drop_table("cs_events")
