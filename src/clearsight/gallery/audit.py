"""Append-only, hash-chained audit log.

Each entry's hash covers its content and the previous entry's hash, and the
`audit_head` row holds the newest (seq, hash): editing, deleting, reordering or
truncating entries breaks the chain and `verify` names the first bad entry.
Entries record who did what to whom, for which purpose and with what outcome:
never an image or a template.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InputError
from .records import AuditEntry, AuditVerification
from .store import AuditHeadRow, AuditRow, as_utc, utcnow

GENESIS = "0" * 64


def _canonical_time(dt: datetime) -> str:
    return as_utc(dt).astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, purpose: str | None,
               target: str | None, outcome: str, details: dict[str, Any]) -> str:
    body = json.dumps(
        {"seq": seq, "at": _canonical_time(at), "actor": actor, "action": action, "purpose": purpose,
         "target": target, "outcome": outcome, "details": details},
        sort_keys=True, separators=(",", ":"), ensure_ascii=True,
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def require_actor(actor: str | None) -> str:
    if not actor or not str(actor).strip():
        raise InputError("an actor (who is doing this) is required for the audit log")
    return str(actor).strip()[:255]


def append(session: Session, *, actor: str, action: str, outcome: str, purpose: str | None = None,
           target: str | None = None, details: dict[str, Any] | None = None) -> int:
    """Add one entry inside the caller's transaction (so the action and its record
    commit or roll back together). Returns the entry's sequence number."""
    details = json.loads(json.dumps(details or {}))  # JSON-safe and detached
    head = session.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()).scalar_one()
    seq = head.seq + 1
    # microsecond precision survives every backend's round trip, so the hash does too
    at = utcnow()
    h = entry_hash(head.hash, seq, at, actor, action, purpose, target, outcome, details)
    session.add(AuditRow(seq=seq, at=at, actor=actor, action=action, purpose=purpose, target=target,
                         outcome=outcome, details=details, prev_hash=head.hash, hash=h))
    head.seq, head.hash = seq, h
    return seq


def to_entry(r: AuditRow) -> AuditEntry:
    return AuditEntry(seq=r.seq, at=as_utc(r.at), actor=r.actor, action=r.action, purpose=r.purpose,
                      target=r.target, outcome=r.outcome, details=dict(r.details or {}),
                      prev_hash=r.prev_hash, hash=r.hash)


def _filtered(q, action: str | None, target: str | None):  # noqa: ANN001, ANN202
    if action:
        q = q.where(AuditRow.action == action)
    if target:
        q = q.where(AuditRow.target == target)
    return q


def entries(session: Session, offset: int = 0, limit: int = 100, *, action: str | None = None,
            target: str | None = None, newest_first: bool = False) -> list[AuditEntry]:
    """A page of entries in `seq` order; newest first lets a reviewer start from what just happened."""
    order = AuditRow.seq.desc() if newest_first else AuditRow.seq
    q = _filtered(select(AuditRow), action, target).order_by(order)
    return [to_entry(r) for r in session.execute(q.offset(offset).limit(limit)).scalars()]


def count(session: Session, *, action: str | None = None, target: str | None = None) -> int:
    q = _filtered(select(func.count(AuditRow.seq)), action, target)
    return int(session.execute(q).scalar() or 0)


def verify(session: Session, batch: int = 5000) -> AuditVerification:
    prev, expected_seq, checked = GENESIS, 1, 0
    last = 0
    while True:
        rows = session.execute(
            select(AuditRow).where(AuditRow.seq > last).order_by(AuditRow.seq).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for r in rows:
            if r.seq != expected_seq:
                return AuditVerification(False, checked, expected_seq, f"entry {expected_seq} is missing")
            if r.prev_hash != prev:
                return AuditVerification(False, checked, r.seq, "chain link broken")
            h = entry_hash(prev, r.seq, r.at, r.actor, r.action, r.purpose, r.target, r.outcome, dict(r.details or {}))
            if h != r.hash:
                return AuditVerification(False, checked, r.seq, "entry content does not match its hash")
            prev, expected_seq, checked, last = r.hash, r.seq + 1, checked + 1, r.seq
    head = session.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1)).scalar_one()
    if head.seq != checked or head.hash != prev:
        return AuditVerification(False, checked, checked + 1 if head.seq > checked else head.seq,
                                 "log truncated or head altered")
    return AuditVerification(True, checked, None)


class AuditLog:
    """The gallery's audit log: appends inside the caller's transaction, pages, verifies."""

    def append(self, session: Session, *, actor: str, action: str, outcome: str, purpose: str | None = None,
               target: str | None = None, details: dict[str, Any] | None = None) -> int:
        return append(session, actor=actor, action=action, outcome=outcome, purpose=purpose, target=target,
                      details=details)

    def entries(self, session: Session, offset: int = 0, limit: int = 100, *, action: str | None = None,
                target: str | None = None, newest_first: bool = False) -> list[AuditEntry]:
        return entries(session, offset, limit, action=action, target=target, newest_first=newest_first)

    def count(self, session: Session, *, action: str | None = None, target: str | None = None) -> int:
        return count(session, action=action, target=target)

    def verify(self, session: Session) -> AuditVerification:
        return verify(session)
