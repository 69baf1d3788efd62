"""What face-pay hands out: frozen records, built from rows, serialised for the API.

Amounts are integer minor units with their ISO 4217 currency, never floats."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from ...errors import InputError


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def _plain(obj: Any) -> dict[str, Any]:
    return {k: _iso(v) if isinstance(v, datetime) else v for k, v in asdict(obj).items()}


class Direction(str, Enum):
    IN = "in"
    OUT = "out"


def parse_direction(value: Direction | str) -> Direction:
    try:
        return Direction(value.value if isinstance(value, Direction) else str(value).strip().lower())
    except ValueError:
        raise InputError(f"a gate's direction is 'in' or 'out', not {value!r}") from None


class Unsure(str, Enum):
    """Why a gate did not decide by face: the rider uses a ticket, nobody is charged."""

    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    LOW_QUALITY = "low_quality"
    NOT_LIVE = "not_live"
    NO_MATCH = "no_match"
    AMBIGUOUS = "ambiguous"  # several close candidates


class Refusal(str, Enum):
    """Why a recognised rider was not let through by face."""

    NO_CONSENT = "no_consent"
    NOT_A_RIDER = "not_a_rider"
    ACCOUNT_CLOSED = "account_closed"
    INSUFFICIENT_BALANCE = "insufficient_balance"


class Outcome(str, Enum):
    ENTERED = "entered"  # a tap-in: the gate opens, a journey starts (charged at tap-out)
    CHARGED = "charged"  # a tap-out: the journey's fare is taken
    DUPLICATE = "duplicate"  # the same passage seen again (another frame, another gate): opens, no charge
    REFUSED = "refused"  # unsure or not allowed: no gate by face, no charge; use a ticket


@dataclass(frozen=True, slots=True)
class GateDecision:
    """What the face said at the gate, before any money: one identity, or unsure and why."""

    identity_id: str | None
    unsure: Unsure | None
    similarity: float | None = None
    second: float | None = None
    threshold: float | None = None
    live_score: float | None = None
    quality_reasons: tuple[str, ...] = ()
    n: int | None = None
    fpir: float | None = None

    @property
    def recognised(self) -> bool:
        return self.unsure is None and self.identity_id is not None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["unsure"] = self.unsure.value if self.unsure else None
        d["quality_reasons"] = list(self.quality_reasons)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GateDecision:
        return cls(**{**d, "unsure": Unsure(d["unsure"]) if d.get("unsure") else None,
                      "quality_reasons": tuple(d.get("quality_reasons") or ())})


@dataclass(frozen=True, slots=True)
class Rider:
    id: str
    identity_id: str | None
    status: str
    created_at: datetime
    closed_at: datetime | None
    balance: int
    currency: str

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True, slots=True)
class Gate:
    id: str
    station: str
    direction: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True, slots=True)
class Passage:
    id: str
    idempotency_key: str
    gate_id: str
    station: str
    direction: str
    at: datetime
    outcome: str
    reason: str
    rider_id: str | None
    journey_id: str | None
    same_as: str | None
    fare: int | None
    currency: str
    txn_id: int | None
    similarity: float | None
    live_score: float | None
    has_snapshot: bool
    replayed: bool = False  # this answer was stored by an earlier request with the same key

    @property
    def opens_gate(self) -> bool:
        return self.outcome != Outcome.REFUSED.value

    def to_dict(self) -> dict[str, Any]:
        return {**_plain(self), "opens_gate": self.opens_gate}


@dataclass(frozen=True, slots=True)
class Journey:
    id: str
    rider_id: str
    status: str
    entry_station: str
    entry_at: datetime
    exit_station: str | None
    exit_at: datetime | None
    fare: int | None
    currency: str
    txn_id: int | None

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    account_id: str
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class LedgerTxn:
    id: int
    kind: str
    at: datetime
    rider_id: str | None
    journey_id: str | None
    refund_of: int | None
    actor: str
    memo: str
    entries: tuple[LedgerEntry, ...] = field(default_factory=tuple)
    replayed: bool = False

    def amount_for(self, account_id: str) -> int:
        return sum(e.amount for e in self.entries if e.account_id == account_id)

    def to_dict(self) -> dict[str, Any]:
        d = _plain(self)
        d["entries"] = [asdict(e) for e in self.entries]
        return d


@dataclass(frozen=True, slots=True)
class Dispute:
    id: str
    passage_id: str
    rider_id: str
    status: str
    reason: str
    opened_at: datetime
    opened_by: str
    resolved_at: datetime | None
    resolved_by: str | None
    refund_txn_id: int | None
    has_evidence: bool

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """The daily report: money moved that day by kind, and the invariants of the whole ledger."""

    day: str
    currency: str
    totals: dict[str, int]  # kind -> sum of rider-account movements that day
    transactions: int
    passages: dict[str, int]  # outcome -> count that day
    journeys_capped: int
    unbalanced_transactions: int  # entries not summing to zero (must be 0)
    account_mismatches: int  # cached balance != sum of entries (must be 0)
    negative_rider_balances: int  # must be 0
    ledger_sum: int  # all accounts together (must be 0)
    rider_liability: int  # what riders hold: owed to them
    double_charged_journeys: int  # journeys with more than one fare (must be 0)
    uncharged_closed_journeys: int  # completed or capped without a fare transaction (must be 0)

    @property
    def balanced(self) -> bool:
        return not (self.unbalanced_transactions or self.account_mismatches or self.negative_rider_balances
                    or self.ledger_sum or self.double_charged_journeys or self.uncharged_closed_journeys)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "balanced": self.balanced}


@dataclass(frozen=True, slots=True)
class RiderEnrolment:
    rider: Rider
    rider_key: str  # shown once: the rider's own key to their account page
    refused_photos: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ErasureReport:
    rider_id: str
    refunded: int
    currency: str
    journey_capped: bool
    passages_deleted: int
    snapshots_deleted: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Housekeeping:
    journeys_capped: int
    snapshots_deleted: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
