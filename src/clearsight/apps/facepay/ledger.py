"""The double-entry ledger: accounts, balanced transactions, and the checks that prove it.

Every money movement is one transaction whose entries sum to zero: a top-up credits
the rider and debits `system:top_ups` (money that came in from outside), a fare
debits the rider and credits `system:fares`, a refund reverses part of a fare, an
erasure pays the balance out to `system:payouts`. A rider account's balance is what
the operator owes the rider, so it never goes below zero.

Writes happen inside the caller's database transaction (`FacePay.transaction`),
and balances move by `UPDATE ... SET balance = balance + x`, so concurrent writers
on PostgreSQL never lose an update; the cached balance is checked against the sum of
the entries by `reconcile`. Lock order, everywhere: the rider row, then accounts,
then the audit head: no two face-pay transactions can deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ...db.base import as_utc
from ...db.tables.facepay import (FacePayAccountRow, FacePayEntryRow, FacePayJourneyRow, FacePayPassageRow,
                                  FacePayTxnRow)
from .records import LedgerEntry, LedgerTxn, Reconciliation

TOP_UPS = "system:top_ups"
FARES = "system:fares"
PAYOUTS = "system:payouts"
SYSTEM_ACCOUNTS = (TOP_UPS, FARES, PAYOUTS)
KINDS = ("top_up", "fare", "refund", "payout")


def rider_account(rider_id: str) -> str:
    return f"rider:{rider_id}"


def post(s: Session, kind: str, legs: Sequence[tuple[str, int]], currency: str, *, actor: str, at: datetime,
         rider_id: str | None = None, journey_id: str | None = None, refund_of: int | None = None, memo: str = "",
         idempotency_key: str | None = None, request_sha256: str | None = None) -> FacePayTxnRow:
    """One balanced transaction, inside the caller's database transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown ledger transaction kind {kind!r}")
    if sum(a for _, a in legs) != 0 or any(not isinstance(a, int) for _, a in legs):
        raise ValueError("a ledger transaction's entries are integers summing to zero")
    txn = FacePayTxnRow(kind=kind, idempotency_key=idempotency_key, request_sha256=request_sha256,
                        rider_id=rider_id, journey_id=journey_id, refund_of=refund_of, at=at, actor=actor[:255],
                        memo=memo[:255])
    s.add(txn)
    s.flush()
    for account_id, amount in legs:
        s.execute(update(FacePayAccountRow).where(FacePayAccountRow.id == account_id)
                  .values(balance=FacePayAccountRow.balance + amount))
        s.add(FacePayEntryRow(txn_id=txn.id, account_id=account_id, amount=amount, currency=currency))
    s.flush()
    return txn


def balance(s: Session, account_id: str) -> int:
    return int(s.execute(select(FacePayAccountRow.balance).where(FacePayAccountRow.id == account_id)).scalar() or 0)


def to_txn(s: Session, row: FacePayTxnRow, *, replayed: bool = False) -> LedgerTxn:
    entries = s.execute(select(FacePayEntryRow.account_id, FacePayEntryRow.amount, FacePayEntryRow.currency)
                        .where(FacePayEntryRow.txn_id == row.id).order_by(FacePayEntryRow.id)).all()
    return LedgerTxn(int(row.id), row.kind, as_utc(row.at), row.rider_id, row.journey_id, row.refund_of, row.actor,
                     row.memo, tuple(LedgerEntry(a, int(m), c) for a, m, c in entries), replayed)


def transactions(s: Session, *, account_id: str | None = None, rider_id: str | None = None, kind: str | None = None,
                 since: datetime | None = None, until: datetime | None = None, offset: int = 0,
                 limit: int = 100) -> list[LedgerTxn]:
    q = select(FacePayTxnRow)
    if account_id:
        q = q.where(FacePayTxnRow.id.in_(select(FacePayEntryRow.txn_id).where(FacePayEntryRow.account_id == account_id)))
    if rider_id:
        q = q.where(FacePayTxnRow.rider_id == rider_id)
    if kind:
        q = q.where(FacePayTxnRow.kind == kind)
    if since:
        q = q.where(FacePayTxnRow.at >= since)
    if until:
        q = q.where(FacePayTxnRow.at < until)
    rows = s.execute(q.order_by(FacePayTxnRow.id.desc()).offset(offset).limit(limit)).scalars().all()
    return [to_txn(s, r) for r in rows]


def reconcile(s: Session, day: datetime, currency: str) -> Reconciliation:
    """The day's movements (UTC day of `day`) and the invariants of the whole ledger."""
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    end = start + timedelta(days=1)
    rider_legs = (select(FacePayTxnRow.kind, func.coalesce(func.sum(FacePayEntryRow.amount), 0))
                  .join(FacePayEntryRow, FacePayEntryRow.txn_id == FacePayTxnRow.id)
                  .where(FacePayTxnRow.at >= start, FacePayTxnRow.at < end, FacePayEntryRow.account_id.like("rider:%"))
                  .group_by(FacePayTxnRow.kind))
    totals = {k: 0 for k in KINDS} | {k: int(v) for k, v in s.execute(rider_legs).all()}
    n_txn = int(s.execute(select(func.count(FacePayTxnRow.id))
                          .where(FacePayTxnRow.at >= start, FacePayTxnRow.at < end)).scalar() or 0)
    passages = {o: int(n) for o, n in s.execute(
        select(FacePayPassageRow.outcome, func.count()).where(FacePayPassageRow.at >= start, FacePayPassageRow.at < end)
        .group_by(FacePayPassageRow.outcome)).all()}
    capped = int(s.execute(select(func.count(FacePayJourneyRow.id)).where(
        FacePayJourneyRow.status == "capped", FacePayJourneyRow.exit_at >= start,
        FacePayJourneyRow.exit_at < end)).scalar() or 0)
    per_txn = select(FacePayEntryRow.txn_id).group_by(FacePayEntryRow.txn_id).having(
        func.sum(FacePayEntryRow.amount) != 0).subquery()
    unbalanced = int(s.execute(select(func.count()).select_from(per_txn)).scalar() or 0)
    sums = select(FacePayEntryRow.account_id.label("a"), func.sum(FacePayEntryRow.amount).label("t")).group_by(
        FacePayEntryRow.account_id).subquery()
    mismatches = int(s.execute(select(func.count()).select_from(FacePayAccountRow).outerjoin(
        sums, sums.c.a == FacePayAccountRow.id).where(
        FacePayAccountRow.balance != func.coalesce(sums.c.t, 0))).scalar() or 0)
    negative = int(s.execute(select(func.count(FacePayAccountRow.id)).where(
        FacePayAccountRow.rider_id.is_not(None), FacePayAccountRow.balance < 0)).scalar() or 0)
    total = int(s.execute(select(func.coalesce(func.sum(FacePayAccountRow.balance), 0))).scalar() or 0)
    liability = int(s.execute(select(func.coalesce(func.sum(FacePayAccountRow.balance), 0)).where(
        FacePayAccountRow.rider_id.is_not(None))).scalar() or 0)
    fares = (select(FacePayTxnRow.journey_id).where(FacePayTxnRow.kind == "fare", FacePayTxnRow.journey_id.is_not(None))
             .group_by(FacePayTxnRow.journey_id).having(func.count() > 1).subquery())
    double = int(s.execute(select(func.count()).select_from(fares)).scalar() or 0)
    uncharged = int(s.execute(select(func.count(FacePayJourneyRow.id)).where(
        FacePayJourneyRow.status.in_(("completed", "capped")), FacePayJourneyRow.fare > 0,
        FacePayJourneyRow.txn_id.is_(None))).scalar() or 0)
    return Reconciliation(start.date().isoformat(), currency, totals, n_txn, passages, capped, unbalanced, mismatches,
                          negative, total, liability, double, uncharged)


__all__ = ["FARES", "PAYOUTS", "SYSTEM_ACCOUNTS", "TOP_UPS", "balance", "post", "reconcile", "rider_account",
           "to_txn", "transactions"]
