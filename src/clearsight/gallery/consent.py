"""Consent and legal-basis records.

Purposes are a fixed vocabulary so that a policy ("watchlist matching needs a
watchlist basis") is checkable by code. An identity takes part in a search only
while it holds a consent for that search's purpose that is neither expired nor
withdrawn.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ..errors import InputError
from .records import Consent
from .store import ConsentRow, IdentityRow, as_utc


class Purpose(str, Enum):
    LOGIN = "login"
    KYC = "kyc"
    ACCESS = "access"
    FACEPAY = "facepay"
    WATCHLIST = "watchlist"
    PHOTOS = "photos"
    # nobody consents to being searched for: these rest on a legal basis (policy.LEGAL_BASIS_PURPOSES)
    INVESTIGATION = "investigation"
    MISSING_PERSON = "missing_person"


PURPOSES = tuple(p.value for p in Purpose)


def parse_purpose(p: Purpose | str | None) -> Purpose:
    if p is None or p == "":
        raise InputError(f"a purpose is required; choose from {', '.join(PURPOSES)}")
    try:
        return Purpose(p.value if isinstance(p, Purpose) else str(p).strip().lower())
    except ValueError:
        raise InputError(f"unknown purpose {p!r}; choose from {', '.join(PURPOSES)}") from None


def parse_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_at is None:
        return None
    if not isinstance(expires_at, datetime):
        raise InputError("expires_at must be a datetime")
    exp = expires_at.replace(tzinfo=timezone.utc) if expires_at.tzinfo is None else expires_at.astimezone(timezone.utc)
    if exp <= now:
        raise InputError("expires_at is in the past: a consent must still be valid when recorded")
    return exp


def valid_consent_clause(identity_col, purpose: Purpose | None, now: datetime) -> ColumnElement[bool]:
    """SQL: the identity holds a valid consent (for `purpose`, or for any purpose)."""
    conds = [
        ConsentRow.identity_id == identity_col,
        ConsentRow.withdrawn_at.is_(None),
        or_(ConsentRow.expires_at.is_(None), ConsentRow.expires_at > now),
    ]
    if purpose is not None:
        conds.append(ConsentRow.purpose == purpose.value)
    return exists(select(ConsentRow.id).where(and_(*conds)))


def to_consent(r: ConsentRow) -> Consent:
    return Consent(id=r.id, identity_id=r.identity_id, purpose=r.purpose, legal_basis=r.legal_basis,
                   granted_by=r.granted_by, granted_at=as_utc(r.granted_at), expires_at=as_utc(r.expires_at),
                   withdrawn_at=as_utc(r.withdrawn_at), withdrawn_by=r.withdrawn_by)


__all__ = ["Purpose", "PURPOSES", "parse_purpose", "valid_consent_clause", "to_consent", "IdentityRow"]
