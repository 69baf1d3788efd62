"""KYC sessions, log-in lock-outs and their audit trail, in the main database.

Like the plate store, this appends to the gallery's keyed audit chain
(`gallery.audit`) in the same transaction as the row it records, so a decision
and its audit entry commit together, and `clearsight audit verify` covers them.

The lock-out counter is a row per identity, updated under the row's lock
(SELECT ... FOR UPDATE; SQLite serialises writers), so two worker processes
counting failures of one identity never lose one, and a restart forgets nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...db import connect, new_id, session_factory
from ...db.base import as_utc, utcnow
from ...db.tables.kyc import KycSessionRow, LoginLockRow
from ...errors import InputError
from ...gallery.audit import AuditLog, open_chain_key, require_actor
from ...settings import LoginSettings

if TYPE_CHECKING:
    from ...config import Settings


class KycSessionNotFound(InputError):
    code = "kyc_session_not_found"
    http_status = 404


class KycSessionClosed(InputError):
    """A session already decided, or expired: a new sign-up attempt needs a new session."""

    code = "kyc_session_closed"
    http_status = 409


class LoginLockedError(InputError):
    code = "login_locked"
    http_status = 423

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class KycSession:
    id: str
    owner: str
    status: str
    liveness_session_id: str | None
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decision: str | None
    reasons: tuple[str, ...]
    checks: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"session_id": self.id, "status": self.status, "liveness_session_id": self.liveness_session_id,
                "created_at": self.created_at.isoformat(timespec="seconds"),
                "expires_at": self.expires_at.isoformat(timespec="seconds"),
                "decided_at": self.decided_at.isoformat(timespec="seconds") if self.decided_at else None,
                "decision": self.decision, "reasons": list(self.reasons), "checks": self.checks}


def _session(r: KycSessionRow, now: datetime) -> KycSession:
    status = r.status
    if status == "open" and as_utc(r.expires_at) <= now:
        status = "expired"
    return KycSession(r.id, r.owner, status, r.liveness_session_id, as_utc(r.created_at), as_utc(r.expires_at),
                      as_utc(r.decided_at), r.decision, tuple(r.reasons or ()), dict(r.checks or {}))


@dataclass(frozen=True)
class LockState:
    locked: bool
    failures: int
    retry_after_s: float


class KycStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine = connect(settings.gallery_database_url(), "main",
                               sqlite_synchronous=settings.gallery.sqlite_synchronous)
        self._sessions = session_factory(self._engine)
        self.audit = AuditLog(open_chain_key(self.transaction, settings.audit_key_file()))

    @classmethod
    def open(cls, settings: Settings | None = None) -> KycStore:
        if settings is None:
            from ...config import get_settings

            settings = get_settings()
        return cls(settings)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions() as s, s.begin():
            yield s

    def close(self) -> None:
        self._engine.dispose()

    def record(self, actor: str, action: str, *, outcome: str, purpose: str | None = None, target: str | None = None,
               details: dict[str, Any] | None = None) -> int:
        """One audit entry (a consumed liveness proof, a refused log-in)."""
        with self.transaction() as s:
            return self.audit.append(s, actor=require_actor(actor), action=action, outcome=outcome, purpose=purpose,
                                     target=target, details=details)

    # -- KYC sessions ----------------------------------------------------------
    def create_session(self, owner: str, actor: str, liveness_session_id: str | None) -> KycSession:
        now = utcnow()
        row = KycSessionRow(id=new_id(), owner=str(owner)[:64], status="open", liveness_session_id=liveness_session_id,
                            created_at=now, expires_at=now + timedelta(seconds=self.settings.kyc.session_ttl_s),
                            reasons=[], checks={})
        with self.transaction() as s:
            s.add(row)
            self.audit.append(s, actor=require_actor(actor), action="kyc.session.create", purpose="kyc", target=row.id,
                              outcome="ok", details={"liveness_session_id": liveness_session_id})
        return _session(row, now)

    def get_session(self, owner: str, session_id: str) -> KycSession:
        """A session of this owner; another owner's is as unknown as a missing one."""
        with self._sessions() as s:
            r = s.get(KycSessionRow, str(session_id)[:32])
            if r is None or r.owner != str(owner)[:64]:
                raise KycSessionNotFound(f"no KYC session {session_id!r}")
            return _session(r, utcnow())

    def claim(self, owner: str, session_id: str) -> KycSession:
        """Mark an open session as being decided, once: a second submission is refused
        (409) instead of racing the first to a second decision."""
        now = utcnow()
        with self.transaction() as s:
            r = s.execute(select(KycSessionRow).where(KycSessionRow.id == str(session_id)[:32]).with_for_update()
                          ).scalar_one_or_none()
            if r is None or r.owner != str(owner)[:64]:
                raise KycSessionNotFound(f"no KYC session {session_id!r}")
            st = _session(r, now)
            if st.status != "open":
                raise KycSessionClosed(f"KYC session {session_id!r} is {st.status}; start a new one")
            r.status = "deciding"
            return _session(r, now)

    def decide(self, session_id: str, actor: str, decision: str, reasons: list[str], checks: dict[str, Any],
               audit_details: dict[str, Any]) -> KycSession:
        now = utcnow()
        with self.transaction() as s:
            r = s.get(KycSessionRow, str(session_id))
            if r is None:
                raise KycSessionNotFound(f"no KYC session {session_id!r}")
            r.status, r.decision, r.reasons, r.checks, r.decided_at = "decided", decision, list(reasons), checks, now
            self.audit.append(s, actor=require_actor(actor), action="kyc.decision", purpose="kyc", target=r.id,
                              outcome=decision, details={"reasons": list(reasons), **audit_details})
            return _session(r, now)

    def release(self, session_id: str) -> None:
        """A submission that failed before any decision (a malformed image): the session stays open."""
        with self.transaction() as s:
            r = s.get(KycSessionRow, str(session_id))
            if r is not None and r.status == "deciding":
                r.status = "open"

    # -- log-in lock-out -----------------------------------------------------------
    @property
    def login(self) -> LoginSettings:
        return self.settings.login

    def lock_state(self, identity_id: str) -> LockState:
        now = utcnow()
        with self._sessions() as s:
            r = s.get(LoginLockRow, str(identity_id))
            if r is None:
                return LockState(False, 0, 0.0)
            until = as_utc(r.locked_until)
            if until is not None and until > now:
                return LockState(True, r.failures, (until - now).total_seconds())
            return LockState(False, r.failures, 0.0)

    def login_failed(self, identity_id: str, actor: str, details: dict[str, Any]) -> LockState:
        """Count a failure (in the audit entry's transaction); lock after `max_failures` in the window."""
        cfg = self.login
        now = utcnow()
        with self.transaction() as s:
            r = s.execute(select(LoginLockRow).where(LoginLockRow.identity_id == str(identity_id)).with_for_update()
                          ).scalar_one_or_none()
            if r is None:
                r = LoginLockRow(identity_id=str(identity_id), failures=0, first_failure_at=None, locked_until=None)
                s.add(r)
            first = as_utc(r.first_failure_at)
            if first is None or (now - first).total_seconds() > cfg.window_s or (
                    r.locked_until is not None and as_utc(r.locked_until) <= now):
                r.failures, r.first_failure_at, r.locked_until = 0, now, None
            r.failures += 1
            locked = r.failures >= cfg.max_failures
            if locked:
                r.locked_until = now + timedelta(seconds=cfg.lockout_s)
            self.audit.append(s, actor=require_actor(actor), action="login", purpose="login", target=str(identity_id),
                              outcome="locked_out" if locked else "failed",
                              details={**details, "failures": r.failures, "max_failures": cfg.max_failures})
            return LockState(locked, r.failures, cfg.lockout_s if locked else 0.0)

    def login_succeeded(self, identity_id: str, actor: str, details: dict[str, Any]) -> None:
        with self.transaction() as s:
            r = s.get(LoginLockRow, str(identity_id))
            if r is not None:
                s.delete(r)
            self.audit.append(s, actor=require_actor(actor), action="login", purpose="login", target=str(identity_id),
                              outcome="ok", details=details)
