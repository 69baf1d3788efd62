"""Face-pay: riders, accounts, the double-entry ledger, gates, passages, journeys and
disputes (main database, migration 0006).

The ledger is double-entry: a transaction's entries sum to zero, an account's
`balance` is the sum of its entries, updated in the same database transaction, and
the reconciliation report checks both. Idempotency keys are unique columns, so a
retried request can never write twice, whatever the process did in between.
A passage's gate frame is an AES-GCM blob under the snapshot key, kept only for the
dispute window.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..base import BigId, MainBase

Amount = BigInteger().with_variant(Integer, "sqlite")  # SQLite INTEGER is 64-bit already


class FacePayRiderRow(MainBase):
    """A rider: the identity gone once erased (then only the pseudonymous id remains)."""

    __tablename__ = "facepay_riders"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    identity_id: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(16))  # active | closed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    key_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the rider's own key, hashed


class FacePayAccountRow(MainBase):
    """A ledger account: a rider's stored value, or a system account (`code`)."""

    __tablename__ = "facepay_accounts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # "rider:<rider id>" or a system code
    rider_id: Mapped[str | None] = mapped_column(ForeignKey("facepay_riders.id"), nullable=True, unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[int] = mapped_column(Amount)
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FacePayTxnRow(MainBase):
    __tablename__ = "facepay_transactions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # top_up | fare | refund | payout
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True, unique=True)
    request_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rider_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    journey_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    refund_of: Mapped[int | None] = mapped_column(ForeignKey("facepay_transactions.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(255))
    memo: Mapped[str] = mapped_column(String(255), default="")


class FacePayEntryRow(MainBase):
    __tablename__ = "facepay_entries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    txn_id: Mapped[int] = mapped_column(ForeignKey("facepay_transactions.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("facepay_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(Amount)  # minor units; + credits the account, - debits it
    currency: Mapped[str] = mapped_column(String(3))


class FacePayGateRow(MainBase):
    __tablename__ = "facepay_gates"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    station: Mapped[str] = mapped_column(String(100), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # in | out
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FacePayJourneyRow(MainBase):
    __tablename__ = "facepay_journeys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    rider_id: Mapped[str] = mapped_column(ForeignKey("facepay_riders.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # open | completed | capped
    entry_station: Mapped[str] = mapped_column(String(100))
    entry_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    exit_station: Mapped[str | None] = mapped_column(String(100), nullable=True)
    exit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    fare: Mapped[int | None] = mapped_column(Amount, nullable=True)
    txn_id: Mapped[int | None] = mapped_column(ForeignKey("facepay_transactions.id"), nullable=True)

    # one open journey per rider, whatever two gates do at once
    __table_args__ = (Index("ux_facepay_journeys_open", "rider_id", unique=True,
                            sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),)


class FacePayPassageRow(MainBase):
    """One gate request, keyed by its idempotency key: its answer is stored with it."""

    __tablename__ = "facepay_passages"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    gate_id: Mapped[str] = mapped_column(String(64))
    station: Mapped[str] = mapped_column(String(100))
    direction: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # entered | charged | duplicate | refused
    reason: Mapped[str] = mapped_column(String(32), default="")
    rider_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    journey_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    same_as: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the passage a duplicate repeats
    fare: Mapped[int | None] = mapped_column(Amount, nullable=True)
    txn_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    live_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    snapshot: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    snapshot_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class FacePayDisputeRow(MainBase):
    __tablename__ = "facepay_disputes"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    passage_id: Mapped[str] = mapped_column(ForeignKey("facepay_passages.id"), index=True)
    rider_id: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16))  # open | refunded | rejected
    reason: Mapped[str] = mapped_column(String(500))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_by: Mapped[str] = mapped_column(String(255))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    refund_txn_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
