"""Face-pay: riders, accounts, double-entry ledger, gates, journeys, passages, disputes (issue 17)

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Amount = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "facepay_riders",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("identity_id", sa.String(32), nullable=True, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("closed_at", When, nullable=True),
        sa.Column("key_sha256", sa.String(64), nullable=True),
    )
    op.create_table(
        "facepay_accounts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("rider_id", sa.String(32), sa.ForeignKey("facepay_riders.id"), nullable=True, unique=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("balance", Amount, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", When, nullable=False),
    )
    op.create_table(
        "facepay_transactions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=True, unique=True),
        sa.Column("request_sha256", sa.String(64), nullable=True),
        sa.Column("rider_id", sa.String(32), nullable=True),
        sa.Column("journey_id", sa.String(32), nullable=True),
        sa.Column("refund_of", BigId, sa.ForeignKey("facepay_transactions.id"), nullable=True),
        sa.Column("at", When, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("memo", sa.String(255), nullable=False),
    )
    for col in ("kind", "rider_id", "journey_id", "at"):
        op.create_index(f"ix_facepay_transactions_{col}", "facepay_transactions", [col])
    op.create_table(
        "facepay_entries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("txn_id", BigId, sa.ForeignKey("facepay_transactions.id"), nullable=False),
        sa.Column("account_id", sa.String(40), sa.ForeignKey("facepay_accounts.id"), nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
    )
    op.create_index("ix_facepay_entries_txn_id", "facepay_entries", ["txn_id"])
    op.create_index("ix_facepay_entries_account_id", "facepay_entries", ["account_id"])
    op.create_table(
        "facepay_gates",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("station", sa.String(100), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("created_at", When, nullable=False),
    )
    op.create_index("ix_facepay_gates_station", "facepay_gates", ["station"])
    op.create_table(
        "facepay_journeys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("rider_id", sa.String(32), sa.ForeignKey("facepay_riders.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("entry_station", sa.String(100), nullable=False),
        sa.Column("entry_at", When, nullable=False),
        sa.Column("exit_station", sa.String(100), nullable=True),
        sa.Column("exit_at", When, nullable=True),
        sa.Column("fare", Amount, nullable=True),
        sa.Column("txn_id", BigId, sa.ForeignKey("facepay_transactions.id"), nullable=True),
    )
    op.create_index("ix_facepay_journeys_rider_id", "facepay_journeys", ["rider_id"])
    op.create_index("ux_facepay_journeys_open", "facepay_journeys", ["rider_id"], unique=True,
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
    op.create_table(
        "facepay_passages",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("gate_id", sa.String(64), nullable=False),
        sa.Column("station", sa.String(100), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("rider_id", sa.String(32), nullable=True),
        sa.Column("journey_id", sa.String(32), nullable=True),
        sa.Column("same_as", sa.String(32), nullable=True),
        sa.Column("fare", Amount, nullable=True),
        sa.Column("txn_id", BigId, nullable=True),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("live_score", sa.Float(), nullable=True),
        sa.Column("snapshot", sa.LargeBinary(), nullable=True),
        sa.Column("snapshot_until", When, nullable=True),
    )
    op.create_index("ix_facepay_passages_at", "facepay_passages", ["at"])
    op.create_index("ix_facepay_passages_rider_id", "facepay_passages", ["rider_id"])
    op.create_table(
        "facepay_disputes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("passage_id", sa.String(32), sa.ForeignKey("facepay_passages.id"), nullable=False),
        sa.Column("rider_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("opened_at", When, nullable=False),
        sa.Column("opened_by", sa.String(255), nullable=False),
        sa.Column("resolved_at", When, nullable=True),
        sa.Column("resolved_by", sa.String(255), nullable=True),
        sa.Column("refund_txn_id", BigId, nullable=True),
    )
    op.create_index("ix_facepay_disputes_passage_id", "facepay_disputes", ["passage_id"])
    op.create_index("ix_facepay_disputes_rider_id", "facepay_disputes", ["rider_id"])


def downgrade() -> None:
    for table in ("facepay_disputes", "facepay_passages", "facepay_journeys", "facepay_gates", "facepay_entries",
                  "facepay_transactions", "facepay_accounts", "facepay_riders"):
        op.drop_table(table)
