"""identities.pseudonym_key: per-identity key of the audit pseudonyms (issue 19 item 4)

PORT TO clearsight/db: the lead moves this into the single Alembic environment.

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
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("pseudonym_key", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("pseudonym_key")
