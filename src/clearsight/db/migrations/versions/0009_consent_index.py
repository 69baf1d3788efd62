"""Consents: a composite index on (identity_id, purpose) for the search's consent check (issue 17)

Why: every search filters candidates by "holds a valid consent for this purpose"; when
every identity holds the same purpose (a face-pay gallery), SQLite without statistics
picked the purpose index and scanned every consent per candidate (2.1 s per search at
2,000 riders). With (identity_id, purpose) the check is one index probe per candidate
whatever the statistics say.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_consents_identity_purpose", "consents", ["identity_id", "purpose"])


def downgrade() -> None:
    op.drop_index("ix_consents_identity_purpose", table_name="consents")
