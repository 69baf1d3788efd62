"""What the plate store hands out: frozen records, JSON-ready through `to_dict`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from ...errors import InputError


class HotListPurpose(str, Enum):
    """Why a hot-list exists: a fixed vocabulary so a policy about it is checkable by code."""

    ACCESS = "access"  # barrier / gate control for known vehicles
    PARKING = "parking"  # permits, overstay enforcement
    TOLLING = "tolling"
    ENFORCEMENT = "enforcement"  # stolen, uninsured, wanted vehicles (law enforcement)
    SAFETY = "safety"  # e.g. dangerous-goods vehicles at a site


PURPOSES = tuple(p.value for p in HotListPurpose)


def parse_purpose(p: str | HotListPurpose | None) -> HotListPurpose:
    if p is None or p == "":
        raise InputError(f"a hot-list needs a purpose; choose from {', '.join(PURPOSES)}")
    try:
        return HotListPurpose(p.value if isinstance(p, HotListPurpose) else str(p).strip().lower())
    except ValueError:
        raise InputError(f"unknown hot-list purpose {p!r}; choose from {', '.join(PURPOSES)}") from None


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class StoredRead:
    id: int
    camera: str
    at: datetime
    text: str
    confidence: float
    country: str
    track_id: int | None
    votes: int
    purpose: str
    has_crop: bool

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "camera": self.camera, "at": _iso(self.at), "text": self.text,
                "confidence": round(self.confidence, 4), "country": self.country, "track_id": self.track_id,
                "votes": self.votes, "purpose": self.purpose, "has_crop": self.has_crop}


@dataclass(frozen=True, slots=True)
class HotList:
    id: str
    name: str
    purpose: str
    legal_basis: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    alert: bool
    plates: tuple[str, ...] = ()

    def active(self, now: datetime) -> bool:
        """Whether this list may alert now: a legal basis on record, not expired, alerting on."""
        return self.alert and bool(self.legal_basis.strip()) and (self.expires_at is None or self.expires_at > now)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "purpose": self.purpose, "legal_basis": self.legal_basis,
                "created_by": self.created_by, "created_at": _iso(self.created_at),
                "expires_at": _iso(self.expires_at), "alert": self.alert, "plates": list(self.plates)}


@dataclass(frozen=True, slots=True)
class HotListHit:
    """A plate found on an active hot-list: what a `plate.hotlist_match` event reports."""

    hotlist_id: str
    hotlist: str
    purpose: str
    legal_basis: str
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"hotlist_id": self.hotlist_id, "hotlist": self.hotlist, "purpose": self.purpose,
                "legal_basis": self.legal_basis, "note": self.note}


@dataclass(frozen=True, slots=True)
class PlatePurge:
    deleted: int  # stored reads
    before: datetime
    events_deleted: int = 0  # plate.* events of the event timeline

    def to_dict(self) -> dict[str, Any]:
        return {"deleted": self.deleted, "events_deleted": self.events_deleted, "before": _iso(self.before)}


__all__ = ["PURPOSES", "HotList", "HotListHit", "HotListPurpose", "PlatePurge", "StoredRead", "parse_purpose"]
