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

from ..errors import InputError
from ..settings import GallerySettings
from .consent import Purpose, valid_consent_clause
from .openset import SearchMode, check_fpir, parse_mode
from .store import ConsentRow, GroupMemberRow, IdentityRow

# Who acts on a search result. Decision purposes open a door or take a payment on
# the answer, so the answer is one identity or none at a controlled FPIR. Candidate
# purposes put a ranked list in front of a human: nothing happens automatically.
PURPOSE_MODES: dict[Purpose, SearchMode] = {
    Purpose.LOGIN: SearchMode.DECISION,
    Purpose.KYC: SearchMode.DECISION,
    Purpose.ACCESS: SearchMode.DECISION,
    Purpose.FACEPAY: SearchMode.DECISION,
    Purpose.PHOTOS: SearchMode.DECISION,
    Purpose.WATCHLIST: SearchMode.CANDIDATES,
    Purpose.INVESTIGATION: SearchMode.CANDIDATES,
    Purpose.MISSING_PERSON: SearchMode.CANDIDATES,
}
# purposes where an automatic decision is never allowed, whatever the caller asks
CANDIDATES_ONLY = frozenset(p for p, m in PURPOSE_MODES.items() if m is SearchMode.CANDIDATES)

# Searching for someone who did not agree to it needs a legal basis, not a consent.
LEGAL_BASIS_PURPOSES = frozenset({Purpose.INVESTIGATION, Purpose.MISSING_PERSON})
_NOT_A_LEGAL_BASIS = frozenset({"", "consent", "none", "n/a", "unknown"})


def check_legal_basis(purpose: Purpose, legal_basis: str | None) -> None:
    """Refuse a record for an investigation or missing-person search that names no legal basis."""
    if purpose in LEGAL_BASIS_PURPOSES and str(legal_basis or "").strip().lower() in _NOT_A_LEGAL_BASIS:
        raise InputError(
            f"purpose {purpose.value!r} needs a legal basis (e.g. court_order, legal_obligation, public_task, "
            f"vital_interests), not {legal_basis!r}: the person searched for has not consented")


def search_mode(purpose: Purpose, requested: SearchMode | str | None) -> SearchMode:
    """The mode of a search: the purpose's own unless the caller asks for another it allows."""
    mode = parse_mode(requested) or PURPOSE_MODES[purpose]
    if mode is SearchMode.DECISION and purpose in CANDIDATES_ONLY:
        raise InputError(f"purpose {purpose.value!r} allows candidates mode only: its results are for human review, "
                         "never an automatic decision")
    return mode


def search_fpir(purpose: Purpose, mode: SearchMode, settings: GallerySettings, requested: float | None) -> float:
    """The target FPIR: the caller's, else the configured one for this purpose and mode."""
    if requested is not None:
        return check_fpir(requested)
    if mode is SearchMode.CANDIDATES:
        return settings.candidates_fpir
    return settings.facepay_fpir if purpose is Purpose.FACEPAY else settings.decision_fpir


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
