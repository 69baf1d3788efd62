"""Consent policy: who may be enrolled, searched, verified, and whose templates must go.

Why: every decision that depends on a person's consent is taken here, on the one
predicate of `consent.valid_consent_clause`, and evaluated in SQL next to the rows
it guards. Enrolment, 1:N search, 1:1 verification and retention then cannot drift
apart on what "a valid consent" means.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from .consent import Purpose, valid_consent_clause
from .store import ConsentRow, GroupMemberRow, IdentityRow


def _holds(s: Session, identity_id: str, purpose: Purpose | None, now: datetime) -> bool:
    return bool(s.execute(select(valid_consent_clause(IdentityRow.id, purpose, now))
                          .where(IdentityRow.id == str(identity_id))).scalar())


def may_enrol(s: Session, identity_id: str, now: datetime) -> bool:
    """Enrolment needs a valid consent or legal basis for at least one purpose."""
    return _holds(s, identity_id, None, now)


def may_match(s: Session, identity_id: str, purpose: Purpose, now: datetime) -> bool:
    """Search and verification need a valid consent for their own purpose."""
    return _holds(s, identity_id, purpose, now)


def eligible(stmt: Select, purpose: Purpose | None, group_id: str | None, exclude: str | None,
             now: datetime) -> Select:
    """Restrict a query over IdentityRow to the identities a search may return."""
    if purpose is not None:
        stmt = stmt.where(valid_consent_clause(IdentityRow.id, purpose, now))
    if group_id is not None:
        stmt = stmt.where(IdentityRow.id.in_(select(GroupMemberRow.identity_id)
                                             .where(GroupMemberRow.group_id == group_id)))
    if exclude is not None:
        stmt = stmt.where(IdentityRow.id != exclude)
    return stmt


def lapsed_consent(now: datetime) -> ColumnElement[bool]:
    """A consent that no longer counts (withdrawn or expired): retention deletes it."""
    return or_(ConsentRow.withdrawn_at.is_not(None),
               (ConsentRow.expires_at.is_not(None)) & (ConsentRow.expires_at <= now))


def without_basis(now: datetime) -> Select:
    """Identities holding no valid consent for any purpose: their biometrics must go."""
    return select(IdentityRow.id).where(not_(valid_consent_clause(IdentityRow.id, None, now)))
