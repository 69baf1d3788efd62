"""What the gallery returns: frozen, serialisable, never holding a biometric."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ..errors import ClearsightError, InputError
from ..types import QualityReport, Verification


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


@dataclass(frozen=True)
class Identity:
    id: str
    external_id: str | None
    display_name: str
    attributes: dict[str, Any]
    created_at: datetime
    template_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = _iso(self.created_at)
        return d


@dataclass(frozen=True)
class Consent:
    id: str
    identity_id: str
    purpose: str
    legal_basis: str
    granted_by: str
    granted_at: datetime
    expires_at: datetime | None
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.withdrawn_at is None and (self.expires_at is None or self.expires_at > now)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("granted_at", "expires_at", "withdrawn_at"):
            d[k] = _iso(d[k])
        return d


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    created_at: datetime
    member_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = _iso(self.created_at)
        return d


@dataclass(frozen=True)
class EnrolResult:
    template_id: str
    quality: QualityReport | None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "template_id": self.template_id,
            "quality": self.quality.to_dict() if self.quality else None,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class IdentityVerification(Verification):
    """A 1:1 answer against an enrolled identity: the best of its templates, decided at
    a calibrated operating point. Names the template that won, never its vector."""

    identity_id: str
    template_id: str

    @property
    def match(self) -> bool:
        return self.is_match

    def to_dict(self) -> dict[str, Any]:
        return {"identity_id": self.identity_id, "template_id": self.template_id, **Verification.to_dict(self)}


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    purpose: str | None
    target: str | None
    outcome: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = _iso(self.at)
        return d


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    checked: int
    first_bad: int | None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PurgeReport:
    consents_purged: int
    templates_purged: int
    identities_affected: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RotationReport:
    old_key_ids: list[str]
    new_key_id: str
    templates_reprotected: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EnrolOutcome:
    """One photo of a multi-photo enrolment: its template, or why it was refused."""

    result: EnrolResult | None
    error: ClearsightError | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None

    def to_dict(self) -> dict[str, Any]:
        if self.result is not None:
            return self.result.to_dict()
        return {"error": self.error.code, "message": str(self.error)}


@dataclass(frozen=True)
class NewIdentityEnrolment:
    """An identity created together with its first faces (all in one transaction)."""

    identity: Identity
    outcomes: tuple[EnrolOutcome, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"identity": self.identity.to_dict(), "results": [o.to_dict() for o in self.outcomes]}


# Identity attributes are the integrator's own metadata (employee number, department):
# small, flat-ish JSON. Bounds keep one request from storing megabytes per person, and a
# hundred-thousand-key object from making every listing slow.
MAX_ATTRIBUTE_BYTES = 16 * 1024
MAX_ATTRIBUTE_KEYS = 100
MAX_ATTRIBUTE_DEPTH = 4


def checked_attributes(attributes: object) -> dict[str, Any]:
    """`attributes` as a JSON object within the bounds above, or a clear InputError."""
    if not isinstance(attributes, dict):
        raise InputError("attributes must be a JSON object")
    if len(attributes) > MAX_ATTRIBUTE_KEYS:
        raise InputError(f"attributes: at most {MAX_ATTRIBUTE_KEYS} keys")

    def depth(v: object, d: int = 1) -> int:
        if d > MAX_ATTRIBUTE_DEPTH:
            return d
        if isinstance(v, dict):
            return max((depth(x, d + 1) for x in v.values()), default=d)
        if isinstance(v, list):
            return max((depth(x, d + 1) for x in v), default=d)
        return d

    if depth(attributes) > MAX_ATTRIBUTE_DEPTH:
        raise InputError(f"attributes: nested at most {MAX_ATTRIBUTE_DEPTH} levels")
    try:
        size = len(json.dumps(attributes, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        raise InputError("attributes must be JSON values") from None
    if size > MAX_ATTRIBUTE_BYTES:
        raise InputError(f"attributes: at most {MAX_ATTRIBUTE_BYTES} bytes as JSON (got {size})")
    return dict(attributes)
