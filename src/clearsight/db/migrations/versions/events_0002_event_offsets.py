"""events carry their place in the source: `offset_s` (seconds from its start) and `frame` (issue 18)

Columns, not keys of the JSON `data`: they are the engine's, not an analyser's (an
analyser's own `frame` key cannot shadow them), and "what happened between 0:03 and
0:10 of this file" is a range query that an index answers. Rows from before this
revision, and events of no video source, hold NULL.

Revision ID: events_0002
Revises: events_0001
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "events_0002"
down_revision = "events_0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("cs_events") as batch:
        batch.add_column(sa.Column("offset_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("frame", BigId, nullable=True))
    op.create_index("ix_cs_events_camera_offset", "cs_events", ["camera", "offset_s"])


def downgrade() -> None:
    op.drop_index("ix_cs_events_camera_offset", "cs_events")
    with op.batch_alter_table("cs_events") as batch:
        batch.drop_column("frame")
        batch.drop_column("offset_s")
