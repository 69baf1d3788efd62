"""Append-only, hash-chained audit log, sealed with a key kept outside the database.

Each entry's hash covers its content and the link to the entry before it, and the
`audit_head` row holds the newest (seq, seal): editing, deleting, reordering or
truncating entries breaks the chain and `verify` names the first bad entry.

A plain SHA-256 chain can be recomputed by whoever can write the database, so since
the audit key exists (issue 19 item 5) entries are HMAC-SHA256 under that key, and
the head holds an HMAC seal of (seq, last entry hash) that no row contains: cutting
the newest entries off and pointing the head at an older entry needs the key too.
The key file (`Settings.audit_key_file()`, 0600, next to the template key ring)
records `keyed_from`, the first keyed seq, so chains written before the upgrade
still verify: entries below it are checked as plain SHA-256, entries from it on as
HMACs. Keyed entries link to the sealed head they extended (`prev_hash`).

Entries record who did what to whom, for which purpose and with what outcome:
never an image or a template, and identifying values only as per-identity
pseudonyms (`pseudonym`), so that erasure can make a person's rows unlinkable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InputError
from .errors import TemplateKeyError
from .records import AuditEntry, AuditVerification
from .store import AuditHeadRow, AuditRow, as_utc, utcnow

GENESIS = "0" * 64


def _canonical_time(dt: datetime) -> str:
    return as_utc(dt).astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def _body(seq: int, at: datetime, actor: str, action: str, purpose: str | None, target: str | None,
          outcome: str, details: dict[str, Any]) -> str:
    return json.dumps(
        {"seq": seq, "at": _canonical_time(at), "actor": actor, "action": action, "purpose": purpose,
         "target": target, "outcome": outcome, "details": details},
        sort_keys=True, separators=(",", ":"), ensure_ascii=True,
    )


def entry_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str, purpose: str | None,
               target: str | None, outcome: str, details: dict[str, Any]) -> str:
    """The unkeyed (pre-upgrade) hash of an entry."""
    body = _body(seq, at, actor, action, purpose, target, outcome, details)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True)
class ChainKey:
    """The audit HMAC key and the first sequence number it seals."""

    key: bytes
    keyed_from: int

    def _mac(self, msg: str) -> str:
        return hmac.new(self.key, msg.encode(), hashlib.sha256).hexdigest()

    def entry(self, prev_hash: str, seq: int, at: datetime, actor: str, action: str, purpose: str | None,
              target: str | None, outcome: str, details: dict[str, Any]) -> str:
        if seq < self.keyed_from:
            return entry_hash(prev_hash, seq, at, actor, action, purpose, target, outcome, details)
        return self._mac("clearsight/audit/entry/" + prev_hash + _body(seq, at, actor, action, purpose, target,
                                                                       outcome, details))

    def seal(self, seq: int, last_hash: str) -> str:
        """The head's value after entry `seq` (hash `last_hash`): in no row, so not copyable."""
        return self._mac(f"clearsight/audit/head/{seq}/{last_hash}")


def _read_key(path: Path) -> ChainKey:
    if path.stat().st_mode & 0o077:
        raise TemplateKeyError(f"audit key file {path} is readable by others; run: chmod 600 {path}")
    try:
        data = json.loads(path.read_text())
        key, keyed_from = base64.b64decode(data["key"]), int(data["keyed_from"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TemplateKeyError(f"audit key file {path} is corrupt: {exc}") from None
    if len(key) != 32 or keyed_from < 1:
        raise TemplateKeyError(f"audit key file {path} is corrupt")
    return ChainKey(key, keyed_from)


def _write_key(path: Path, ck: ChainKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"format": 1, "key": base64.b64encode(ck.key).decode(), "keyed_from": ck.keyed_from})
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())


def open_chain_key(transaction: Callable[[], AbstractContextManager[Session]], path: Path) -> ChainKey:
    """The audit key of `path`, created on first start: it then seals the log from the
    current head on, and re-seals the head, under the head's lock (so every process
    agrees on `keyed_from` and no entry slips in between)."""
    if path.exists():
        return _read_key(path)
    with transaction() as s:
        head = s.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()).scalar_one()
        if path.exists():  # another process upgraded while we waited for the lock
            return _read_key(path)
        ck = ChainKey(secrets.token_bytes(32), head.seq + 1)
        head.hash = ck.seal(head.seq, head.hash)  # unkeyed, the head holds the last entry's hash
        s.flush()
        _write_key(path, ck)
    return ck


def pseudonym(identity_key: bytes, field: str, value: str) -> str:
    """What the log keeps of an identifying value (an external id): an HMAC under the
    identity's own key. While the identity exists the key links its rows to the value;
    erasure deletes the key, and the rows become unlinkable to the person."""
    return "hmac:" + hmac.new(identity_key, f"clearsight/audit/{field}/{value}".encode(), hashlib.sha256).hexdigest()[:32]


def require_actor(actor: str | None) -> str:
    if not actor or not str(actor).strip():
        raise InputError("an actor (who is doing this) is required for the audit log")
    return str(actor).strip()[:255]


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


class AuditLog:
    """The gallery's audit log: appends inside the caller's transaction, pages, verifies."""

    def __init__(self, key: ChainKey) -> None:
        self.key = key

    def append(self, session: Session, *, actor: str, action: str, outcome: str, purpose: str | None = None,
               target: str | None = None, details: dict[str, Any] | None = None) -> int:
        """Add one entry inside the caller's transaction (so the action and its record
        commit or roll back together). Returns the entry's sequence number."""
        details = json.loads(json.dumps(details or {}))  # JSON-safe and detached
        head = session.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()).scalar_one()
        seq = head.seq + 1
        # microsecond precision survives every backend's round trip, so the hash does too
        at = utcnow()
        h = self.key.entry(head.hash, seq, at, actor, action, purpose, target, outcome, details)
        session.add(AuditRow(seq=seq, at=at, actor=actor, action=action, purpose=purpose, target=target,
                             outcome=outcome, details=details, prev_hash=head.hash, hash=h))
        head.seq, head.hash = seq, self._head(seq, h)
        return seq

    def _head(self, seq: int, last_hash: str) -> str:
        return self.key.seal(seq, last_hash) if seq >= self.key.keyed_from - 1 else last_hash

    def entries(self, session: Session, offset: int = 0, limit: int = 100, *, action: str | None = None,
                target: str | None = None, newest_first: bool = False) -> list[AuditEntry]:
        """A page of entries in `seq` order; newest first lets a reviewer start from what just happened."""
        order = AuditRow.seq.desc() if newest_first else AuditRow.seq
        q = _filtered(select(AuditRow), action, target).order_by(order)
        return [to_entry(r) for r in session.execute(q.offset(offset).limit(limit)).scalars()]

    def count(self, session: Session, *, action: str | None = None, target: str | None = None) -> int:
        q = _filtered(select(func.count(AuditRow.seq)), action, target)
        return int(session.execute(q).scalar() or 0)

    def verify(self, session: Session, batch: int = 5000) -> AuditVerification:
        last_hash, expected_seq, checked = GENESIS, 1, 0
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
                link = self._head(r.seq - 1, last_hash)  # what the head held when this entry was added
                if r.prev_hash != link:
                    return AuditVerification(False, checked, r.seq, "chain link broken")
                h = self.key.entry(link, r.seq, r.at, r.actor, r.action, r.purpose, r.target, r.outcome,
                                   dict(r.details or {}))
                if not hmac.compare_digest(h, r.hash):
                    return AuditVerification(False, checked, r.seq, "entry content does not match its hash")
                last_hash, expected_seq, checked, last = r.hash, r.seq + 1, checked + 1, r.seq
        head = session.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1)).scalar_one()
        # the log held keyed_from - 1 entries when the key was made, and logs only grow;
        # with the key in place the head is always sealed
        if (head.seq != checked or checked < self.key.keyed_from - 1
                or not hmac.compare_digest(head.hash, self.key.seal(checked, last_hash))):
            return AuditVerification(False, checked, checked + 1 if head.seq > checked else head.seq,
                                     "log truncated or head altered")
        return AuditVerification(True, checked, None)
