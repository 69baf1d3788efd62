"""Face-pay: riders, gates, passages, journeys, refunds, disputes and erasure, over the
one SQL store (the gallery's main database).

One passage, exactly one charge. A gate request carries an idempotency key; the
passage row holds the key (unique) and the request's hash, and it commits in the
same database transaction as the journey and the ledger entries it caused. So:
- a client retry (or a retry after a crash mid-request) finds the stored passage and
  gets the same answer, and no second charge; nothing half-written can exist;
- the same key with a different request is refused (`IdempotencyKeyReusedError`);
- duplicate frames and a second gate at the same station carry other keys: the same
  rider at the same station within `same_passage_s` is one passage (`duplicate`),
  decided under a lock on the rider's row, whichever gate asks first.

A tap-in opens a journey (no money yet; the balance must cover the capped fare), a
tap-out closes it and charges the fare from the fare table; a journey left open
longer than `tap_out_timeout_s` is closed at the capped fare (`housekeeping`, also
run by the next passage that finds it, and before a new tap-in of the same rider).

Before money moves the rider must hold a valid `facepay` consent at that moment,
checked in the charging transaction with the gallery's one consent predicate.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...db import connect, new_id, session_factory
from ...db.base import as_utc, utcnow
from ...db.tables.facepay import (FacePayAccountRow, FacePayDisputeRow, FacePayEntryRow, FacePayGateRow,
                                  FacePayJourneyRow, FacePayPassageRow, FacePayRiderRow, FacePayTxnRow)
from ...errors import InputError
from ...gallery import policy
from ...gallery.audit import AuditLog, open_chain_key, require_actor
from ...gallery.consent import Purpose
from ...gallery.errors import ConflictError, NotFoundError
from ...io.secrets import SealedBlob, load_or_create_key
from . import ledger
from .errors import (AccountClosedError, DisputeWindowClosedError, IdempotencyKeyReusedError,
                     InsufficientBalanceError)
from .fares import journey_fare
from .records import (Direction, Dispute, ErasureReport, GateDecision, Gate, Housekeeping, Journey, LedgerTxn,
                      Outcome, Passage, Reconciliation, Refusal, Rider, RiderEnrolment, parse_direction)

if TYPE_CHECKING:
    from ...config import Settings
    from ...gallery import Gallery
    from .decision import GateDecider

AUDIT_PURPOSE = Purpose.FACEPAY.value
RIDER_KEY_PREFIX = "fpr_"
SNAPSHOT_MAX_SIDE = 640
HOUSEKEEPING_EVERY_S = 30.0


def _utc(dt: datetime | None) -> datetime:
    if dt is None:
        return utcnow()
    if not isinstance(dt, datetime):
        raise InputError("a time must be a date-time")
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _key(value: str | None, what: str = "Idempotency-Key") -> str:
    k = (value or "").strip()
    if not 8 <= len(k) <= 128 or not k.isprintable():
        raise InputError(f"{what}: give a unique printable key of 8-128 characters per request (e.g. a UUID), "
                         "and send the same key again when retrying that request")
    return k


def _amount(value: Any, what: str, *, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what} is an integer number of minor units (e.g. 250 for 2.50), not {value!r}")
    if not 0 < value <= maximum:
        raise InputError(f"{what} must be in 1..{maximum} minor units")
    return value


def request_hash(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(hashlib.sha256(b).digest())
    return h.hexdigest()


def _hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class FacePay:
    def __init__(self, settings: Settings, *, gallery: Gallery | None = None, decider: GateDecider | None = None) -> None:
        self.settings = settings
        self.fs = settings.facepay
        self.currency = self.fs.currency
        self._engine = connect(settings.gallery_database_url(), "main",
                               sqlite_synchronous=settings.gallery.sqlite_synchronous)
        self._sessions = session_factory(self._engine)
        self.audit = AuditLog(open_chain_key(self.transaction, settings.audit_key_file()))
        self._snapshots = SealedBlob(load_or_create_key(settings.events_key_file()), b"clearsight/facepay-snapshot")
        self._gallery = gallery
        self._own_gallery = False
        self._decider = decider
        self._lock = threading.Lock()
        self._last_housekeeping = 0.0
        self._system_accounts()

    @classmethod
    def open(cls, settings: Settings | None = None, **parts: Any) -> FacePay:
        if settings is None:
            from ...config import get_settings

            settings = get_settings()
        return cls(settings, **parts)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions() as s, s.begin():
            yield s

    @property
    def gallery(self) -> Gallery:
        with self._lock:
            if self._gallery is None:
                from ...gallery import Gallery

                self._gallery = Gallery.open(self.settings)
                self._own_gallery = True
            return self._gallery

    @property
    def decider(self) -> GateDecider:
        with self._lock:
            if self._decider is None:
                from .decision import GateDecider

                gallery = self._gallery
            else:
                return self._decider
        decider = GateDecider(gallery or self.gallery, self.fs)
        with self._lock:
            self._decider = self._decider or decider
            return self._decider

    def close(self) -> None:
        if self._own_gallery and self._gallery is not None:
            self._gallery.close()
        self._engine.dispose()

    def _system_accounts(self) -> None:
        for code in ledger.SYSTEM_ACCOUNTS:
            try:
                with self.transaction() as s:
                    if s.get(FacePayAccountRow, code) is None:
                        s.add(FacePayAccountRow(id=code, rider_id=None, currency=self.currency, balance=0,
                                                status="open", created_at=utcnow()))
            except IntegrityError:
                pass  # another process created it first

    # -- riders -----------------------------------------------------------------
    def enrol_rider(self, display_name: str, photos: Sequence[object], *, actor: str, external_id: str | None = None,
                    legal_basis: str = "consent", granted_by: str = "the data subject",
                    expires_at: datetime | None = None) -> RiderEnrolment:
        """A new identity with a `facepay` consent, its faces, and a stored-value account.

        The gallery creates the identity, consent and templates in one transaction (or
        nothing); the rider and account follow. The rider's own key is returned once."""
        actor = require_actor(actor)
        created = self.gallery.enrol_new_identity(external_id, display_name, photos, actor=actor,
                                                   purpose=Purpose.FACEPAY, legal_basis=legal_basis,
                                                   granted_by=granted_by, expires_at=expires_at)
        refused = tuple(str(o.error) for o in created.outcomes if o.error is not None)
        rider, key = self._new_rider(created.identity.id, actor)
        return RiderEnrolment(rider, key, refused)

    def register_rider(self, identity_id: str, *, actor: str) -> RiderEnrolment:
        """An account for an identity already enrolled with a valid `facepay` consent."""
        actor = require_actor(actor)
        self.gallery.get_identity(identity_id)  # NotFoundError
        with self.transaction() as s:
            if not policy.may_match(s, identity_id, Purpose.FACEPAY, utcnow()):
                from ...gallery.errors import ConsentRequiredError

                raise ConsentRequiredError(f"identity {identity_id!r} holds no valid facepay consent")
        rider, key = self._new_rider(str(identity_id), actor)
        return RiderEnrolment(rider, key)

    def _new_rider(self, identity_id: str, actor: str) -> tuple[Rider, str]:
        rider_id = new_id()
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        try:
            with self.transaction() as s:
                s.add(FacePayRiderRow(id=rider_id, identity_id=identity_id, status="active", created_at=now,
                                      key_sha256=_hash_key(secret)))
                s.flush()
                s.add(FacePayAccountRow(id=ledger.rider_account(rider_id), rider_id=rider_id, currency=self.currency,
                                        balance=0, status="open", created_at=now))
                self.audit.append(s, actor=actor, action="facepay.rider.create", purpose=AUDIT_PURPOSE,
                                  target=rider_id, outcome="ok", details={"identity_id": identity_id})
        except IntegrityError:
            raise ConflictError(f"identity {identity_id!r} is already a rider") from None
        return self.rider(rider_id), f"{RIDER_KEY_PREFIX}{rider_id}_{secret}"

    def new_rider_key(self, rider_id: str, *, actor: str) -> str:
        """A new key for the rider's own page; the old one stops working."""
        actor = require_actor(actor)
        secret = secrets.token_urlsafe(32)
        with self.transaction() as s:
            row = self._rider_row(s, rider_id, lock=True)
            if row.status != "active":
                raise AccountClosedError(f"rider {rider_id} is closed")
            row.key_sha256 = _hash_key(secret)
            self.audit.append(s, actor=actor, action="facepay.rider.key", purpose=AUDIT_PURPOSE, target=rider_id,
                              outcome="ok")
        return f"{RIDER_KEY_PREFIX}{rider_id}_{secret}"

    def authenticate_rider(self, token: str) -> Rider | None:
        """The active rider a rider key proves, or None (constant-time on the secret)."""
        token = (token or "").strip()
        if not token.startswith(RIDER_KEY_PREFIX):
            return None
        rider_id, _, secret = token[len(RIDER_KEY_PREFIX):].partition("_")
        if not rider_id or not secret:
            return None
        with self._sessions() as s:
            row = s.get(FacePayRiderRow, rider_id)
            if row is None or row.status != "active" or row.key_sha256 is None:
                return None
            if not hmac.compare_digest(row.key_sha256, _hash_key(secret)):
                return None
        return self.rider(rider_id)

    def rider(self, rider_id: str) -> Rider:
        with self._sessions() as s:
            return self._to_rider(s, self._rider_row(s, rider_id))

    def rider_of_identity(self, identity_id: str) -> Rider:
        with self._sessions() as s:
            row = s.execute(select(FacePayRiderRow).where(FacePayRiderRow.identity_id == str(identity_id))).scalar()
            if row is None:
                raise NotFoundError(f"identity {identity_id!r} is not a rider")
            return self._to_rider(s, row)

    def riders(self, offset: int = 0, limit: int = 100) -> list[Rider]:
        with self._sessions() as s:
            rows = s.execute(select(FacePayRiderRow).order_by(FacePayRiderRow.created_at, FacePayRiderRow.id)
                             .offset(max(0, offset)).limit(min(max(1, limit), 1000))).scalars().all()
            return [self._to_rider(s, r) for r in rows]

    def top_up(self, rider_id: str, amount: int, *, actor: str, currency: str | None = None,
               idempotency_key: str | None = None, memo: str = "") -> LedgerTxn:
        """Add stored value (money received outside: card, cash). With a key, a retry tops up once."""
        actor = require_actor(actor)
        amount = _amount(amount, "a top-up", maximum=self.fs.max_top_up)
        if currency is not None and currency != self.currency:
            raise InputError(f"accounts are in {self.currency}, not {currency!r}")
        key = _key(idempotency_key) if idempotency_key is not None else None
        digest = request_hash("top_up", rider_id, str(amount))
        return self._idempotent(key, digest, lambda s: self._top_up(s, rider_id, amount, actor, key, digest, memo))

    def _top_up(self, s: Session, rider_id: str, amount: int, actor: str, key: str | None, digest: str,
                memo: str) -> FacePayTxnRow:
        row = self._rider_row(s, rider_id, lock=True)
        if row.status != "active":
            raise AccountClosedError(f"rider {rider_id}'s account is closed")
        acc = ledger.rider_account(rider_id)
        if ledger.balance(s, acc) + amount > self.fs.max_balance:
            raise InputError(f"a balance may hold at most {self.fs.max_balance} minor units")
        txn = ledger.post(s, "top_up", [(acc, amount), (ledger.TOP_UPS, -amount)], self.currency, actor=actor,
                          at=utcnow(), rider_id=rider_id, memo=memo, idempotency_key=key, request_sha256=digest)
        self.audit.append(s, actor=actor, action="facepay.top_up", purpose=AUDIT_PURPOSE, target=rider_id,
                          outcome="ok", details={"txn": int(txn.id), "amount": amount, "currency": self.currency})
        return txn

    def _idempotent(self, key: str | None, digest: str, write: Any) -> LedgerTxn:
        """Run `write(session) -> FacePayTxnRow` once per key; a replay returns the stored transaction."""
        if key is not None:
            found = self._txn_by_key(key, digest)
            if found is not None:
                return found
        try:
            with self.transaction() as s:
                return ledger.to_txn(s, write(s))
        except IntegrityError:
            if key is None:
                raise
            found = self._txn_by_key(key, digest)  # a concurrent request with the same key won
            if found is None:
                raise
            return found

    def _txn_by_key(self, key: str, digest: str) -> LedgerTxn | None:
        with self._sessions() as s:
            row = s.execute(select(FacePayTxnRow).where(FacePayTxnRow.idempotency_key == key)).scalar()
            if row is None:
                return None
            if row.request_sha256 != digest:
                raise IdempotencyKeyReusedError(
                    f"Idempotency-Key {key!r} was used for a different request: nothing was done; use a new key")
            return ledger.to_txn(s, row, replayed=True)

    def history(self, rider_id: str, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        """A rider's balance, journeys and money movements (their own account page)."""
        rider = self.rider(rider_id)
        with self._sessions() as s:
            txns = ledger.transactions(s, account_id=ledger.rider_account(rider_id), offset=offset, limit=limit)
        return {"rider": rider.to_dict(), "journeys": [j.to_dict() for j in self.journeys(rider_id=rider_id,
                                                                                          limit=limit)],
                "transactions": [t.to_dict() for t in txns]}

    # -- gates ------------------------------------------------------------------
    def add_gate(self, gate_id: str, station: str, direction: Direction | str, *, actor: str) -> Gate:
        actor = require_actor(actor)
        gid, st = (gate_id or "").strip(), (station or "").strip()
        if not gid or len(gid) > 64 or not gid.isprintable():
            raise InputError("a gate id has 1-64 printable characters")
        if not st or len(st) > 100:
            raise InputError("a station name has 1-100 characters")
        d = parse_direction(direction)
        try:
            with self.transaction() as s:
                s.add(FacePayGateRow(id=gid, station=st, direction=d.value, created_at=utcnow()))
                s.flush()
                self.audit.append(s, actor=actor, action="facepay.gate.create", purpose=AUDIT_PURPOSE, target=gid,
                                  outcome="ok", details={"station": st, "direction": d.value})
        except IntegrityError:
            raise ConflictError(f"a gate {gid!r} already exists") from None
        return self.gate(gid)

    def gate(self, gate_id: str) -> Gate:
        with self._sessions() as s:
            row = s.get(FacePayGateRow, str(gate_id))
            if row is None:
                raise NotFoundError(f"no gate {gate_id!r}: register it first")
            return Gate(row.id, row.station, row.direction, as_utc(row.created_at))

    def gates(self) -> list[Gate]:
        with self._sessions() as s:
            return [Gate(r.id, r.station, r.direction, as_utc(r.created_at))
                    for r in s.execute(select(FacePayGateRow).order_by(FacePayGateRow.station, FacePayGateRow.id))
                    .scalars()]

    def remove_gate(self, gate_id: str, *, actor: str) -> None:
        actor = require_actor(actor)
        with self.transaction() as s:
            row = s.get(FacePayGateRow, str(gate_id))
            if row is None:
                raise NotFoundError(f"no gate {gate_id!r}")
            s.delete(row)
            self.audit.append(s, actor=actor, action="facepay.gate.delete", purpose=AUDIT_PURPOSE, target=gate_id,
                              outcome="ok")

    # -- passages ---------------------------------------------------------------
    def passage(self, gate_id: str, image: bytes, idempotency_key: str, *, now: datetime | None = None) -> Passage:
        """A gate saw a face: decide, and move money at most once for this key and this passage.

        Unknown gate, malformed image or a key reused for another request raise before
        anything is stored; every other answer (including 'unsure') is stored under the key."""
        key = _key(idempotency_key)
        gate = self.gate(gate_id)
        if not isinstance(image, (bytes, bytearray)) or not image:
            raise InputError("the gate frame is required (JPEG or PNG bytes)")
        frame = request_hash(bytes(image))
        found = self._passage_by_key(key, request_hash("passage", gate.id, frame))
        if found is not None:
            return found
        from ...io import load_image

        rgb = load_image(bytes(image))
        decision = self.decider.decide(rgb, actor=f"gate:{gate.id}")
        snapshot = self._snapshot(rgb) if self.fs.keep_snapshots else None
        return self.record_passage(gate.id, decision, key, frame, snapshot=snapshot, now=now)

    def record_passage(self, gate_id: str, decision: GateDecision, idempotency_key: str, frame: str, *,
                       snapshot: bytes | None = None, now: datetime | None = None) -> Passage:
        """Store one gate decision and its consequences (journey, ledger) in one transaction.

        `frame` identifies the request's frame (its hash): with the gate it is what a
        replayed key must carry again."""
        key = _key(idempotency_key)
        digest = request_hash("passage", str(gate_id), frame)
        at = _utc(now)
        found = self._passage_by_key(key, digest)
        if found is not None:
            return found
        self.housekeeping_if_due(at)
        try:
            with self.transaction() as s:
                gate = s.get(FacePayGateRow, str(gate_id))
                if gate is None:
                    raise NotFoundError(f"no gate {gate_id!r}")
                row = FacePayPassageRow(id=new_id(), idempotency_key=key, request_sha256=digest, gate_id=gate.id,
                                        station=gate.station, direction=gate.direction, at=at,
                                        outcome=Outcome.REFUSED.value, reason="", similarity=decision.similarity,
                                        live_score=decision.live_score)
                s.add(row)
                s.flush()  # the key is taken now, or IntegrityError: a concurrent retry got there first
                self._decide_money(s, row, gate, decision, at)
                if snapshot is not None and row.outcome in (Outcome.ENTERED.value, Outcome.CHARGED.value):
                    row.snapshot = self._snapshots.seal(snapshot)
                    row.snapshot_until = at + timedelta(days=self.fs.dispute_window_days)
                self.audit.append(s, actor=f"gate:{gate.id}", action="facepay.passage", purpose=AUDIT_PURPOSE,
                                  target=row.rider_id, outcome=row.outcome,
                                  details={"passage": row.id, "reason": row.reason, "fare": row.fare,
                                           "txn": row.txn_id, "station": gate.station})
                return self._to_passage(row)
        except IntegrityError:
            found = self._passage_by_key(key, digest)
            if found is None:
                raise
            return found

    def _decide_money(self, s: Session, row: FacePayPassageRow, gate: FacePayGateRow, decision: GateDecision,
                      at: datetime) -> None:
        if not decision.recognised:
            row.reason = decision.unsure.value if decision.unsure else "unsure"
            return
        rider = s.execute(select(FacePayRiderRow).where(FacePayRiderRow.identity_id == decision.identity_id)
                          .with_for_update()).scalar()
        if rider is None:
            row.reason = Refusal.NOT_A_RIDER.value
            return
        row.rider_id = rider.id
        if rider.status != "active":
            row.reason = Refusal.ACCOUNT_CLOSED.value
            return
        # one passage per rider per station per window, whichever gate saw them
        earlier = s.execute(select(FacePayPassageRow.id, FacePayPassageRow.journey_id).where(
            FacePayPassageRow.rider_id == rider.id, FacePayPassageRow.station == gate.station,
            FacePayPassageRow.outcome.in_((Outcome.ENTERED.value, Outcome.CHARGED.value)),
            FacePayPassageRow.at >= at - timedelta(seconds=self.fs.same_passage_s), FacePayPassageRow.at <= at)
            .order_by(FacePayPassageRow.at.desc()).limit(1)).first()
        if earlier is not None:
            row.outcome, row.same_as, row.journey_id = Outcome.DUPLICATE.value, earlier[0], earlier[1]
            return
        if not policy.may_match(s, rider.identity_id, Purpose.FACEPAY, at):
            row.reason = Refusal.NO_CONSENT.value
            return
        open_j = s.execute(select(FacePayJourneyRow).where(FacePayJourneyRow.rider_id == rider.id,
                                                           FacePayJourneyRow.status == "open")).scalar()
        if gate.direction == Direction.IN.value:
            if open_j is not None:  # never tapped out of the last journey: it ends at the capped fare
                self._close_journey(s, open_j, None, at, f"gate:{gate.id}")
            need = self.fs.fares.capped_fare
            if ledger.balance(s, ledger.rider_account(rider.id)) < need:
                row.reason = Refusal.INSUFFICIENT_BALANCE.value
                return
            j = FacePayJourneyRow(id=new_id(), rider_id=rider.id, status="open", entry_station=gate.station,
                                  entry_at=at)
            s.add(j)
            s.flush()
            row.outcome, row.journey_id = Outcome.ENTERED.value, j.id
            return
        if open_j is None:
            row.reason = "no_tap_in"  # entered with a ticket, or the tap-in was refused: nothing to charge
            return
        txn = self._close_journey(s, open_j, gate.station, at, f"gate:{gate.id}")
        row.outcome, row.journey_id, row.fare = Outcome.CHARGED.value, open_j.id, open_j.fare
        row.txn_id = int(txn.id) if txn is not None else None

    def _close_journey(self, s: Session, j: FacePayJourneyRow, exit_station: str | None, at: datetime,
                       actor: str) -> FacePayTxnRow | None:
        """End `j` (at `exit_station`, or capped when None) and charge its fare."""
        fare = journey_fare(self.fs.fares, j.entry_station, exit_station)
        acc = ledger.rider_account(j.rider_id)
        fare = min(fare, max(0, ledger.balance(s, acc)))  # the balance covered the cap at tap-in
        j.status = "completed" if exit_station is not None else "capped"
        j.exit_station, j.exit_at, j.fare = exit_station, at, fare
        if fare <= 0:
            return None
        txn = ledger.post(s, "fare", [(acc, -fare), (ledger.FARES, fare)], self.currency, actor=actor, at=at,
                          rider_id=j.rider_id, journey_id=j.id,
                          memo=f"{j.entry_station} -> {exit_station or '(no tap-out: capped fare)'}")
        j.txn_id = int(txn.id)
        return txn

    def _passage_by_key(self, key: str, digest: str) -> Passage | None:
        with self._sessions() as s:
            row = s.execute(select(FacePayPassageRow).where(FacePayPassageRow.idempotency_key == key)).scalar()
            if row is None:
                return None
            if row.request_sha256 != digest:
                raise IdempotencyKeyReusedError(
                    f"Idempotency-Key {key!r} was used for a different passage (another gate or frame): nothing "
                    "was charged; send a new key for a new request")
            return self._to_passage(row, replayed=True)

    def passages(self, *, rider_id: str | None = None, gate_id: str | None = None, offset: int = 0,
                 limit: int = 100) -> list[Passage]:
        q = select(FacePayPassageRow)
        if rider_id:
            q = q.where(FacePayPassageRow.rider_id == rider_id)
        if gate_id:
            q = q.where(FacePayPassageRow.gate_id == gate_id)
        with self._sessions() as s:
            rows = s.execute(q.order_by(FacePayPassageRow.at.desc(), FacePayPassageRow.id)
                             .offset(max(0, offset)).limit(min(max(1, limit), 1000))).scalars().all()
            return [self._to_passage(r) for r in rows]

    def get_passage(self, passage_id: str) -> Passage:
        with self._sessions() as s:
            row = s.get(FacePayPassageRow, str(passage_id))
            if row is None:
                raise NotFoundError(f"no passage {passage_id!r}")
            return self._to_passage(row)

    def journeys(self, *, rider_id: str | None = None, status: str | None = None, offset: int = 0,
                 limit: int = 100) -> list[Journey]:
        q = select(FacePayJourneyRow)
        if rider_id:
            q = q.where(FacePayJourneyRow.rider_id == rider_id)
        if status:
            q = q.where(FacePayJourneyRow.status == status)
        with self._sessions() as s:
            rows = s.execute(q.order_by(FacePayJourneyRow.entry_at.desc(), FacePayJourneyRow.id)
                             .offset(max(0, offset)).limit(min(max(1, limit), 1000))).scalars().all()
            return [Journey(r.id, r.rider_id, r.status, r.entry_station, as_utc(r.entry_at), r.exit_station,
                            as_utc(r.exit_at), r.fare, self.currency, r.txn_id) for r in rows]

    # -- housekeeping -----------------------------------------------------------
    def housekeeping(self, now: datetime | None = None, *, actor: str = "system:facepay") -> Housekeeping:
        """Close journeys left open past the timeout at the capped fare; delete snapshots past
        the dispute window (kept while a dispute on them is open)."""
        at = _utc(now)
        cutoff = at - timedelta(seconds=self.fs.tap_out_timeout_s)
        capped = 0
        with self._sessions() as s:
            overdue = s.execute(select(FacePayJourneyRow.id, FacePayJourneyRow.rider_id).where(
                FacePayJourneyRow.status == "open", FacePayJourneyRow.entry_at < cutoff)).all()
        for jid, rider_id in overdue:
            with self.transaction() as s:
                self._rider_row(s, rider_id, lock=True)
                j = s.get(FacePayJourneyRow, jid)
                if j is None or j.status != "open":
                    continue  # the rider tapped out meanwhile
                txn = self._close_journey(s, j, None, at, actor)
                self.audit.append(s, actor=actor, action="facepay.capped", purpose=AUDIT_PURPOSE, target=rider_id,
                                  outcome="ok", details={"journey": jid, "fare": j.fare,
                                                         "txn": int(txn.id) if txn is not None else None})
                capped += 1
        with self.transaction() as s:
            disputed = select(FacePayDisputeRow.passage_id).where(FacePayDisputeRow.status == "open")
            res = s.execute(update(FacePayPassageRow).where(
                FacePayPassageRow.snapshot.is_not(None), FacePayPassageRow.snapshot_until < at,
                FacePayPassageRow.id.not_in(disputed)).values(snapshot=None, snapshot_until=None))
            dropped = int(res.rowcount or 0)
        self._last_housekeeping = time.monotonic()
        return Housekeeping(capped, dropped)

    def housekeeping_if_due(self, now: datetime | None = None) -> Housekeeping | None:
        if self._last_housekeeping and time.monotonic() - self._last_housekeeping < HOUSEKEEPING_EVERY_S:
            return None
        self._last_housekeeping = time.monotonic()
        return self.housekeeping(now)

    # -- refunds and disputes ---------------------------------------------------
    def refund(self, txn_id: int, *, actor: str, amount: int | None = None, reason: str = "",
               idempotency_key: str | None = None) -> LedgerTxn:
        """Give back (part of) a fare: to the rider's account, or paid out if it is closed."""
        actor = require_actor(actor)
        key = _key(idempotency_key) if idempotency_key is not None else None
        digest = request_hash("refund", str(txn_id), str(amount), reason)
        return self._idempotent(key, digest, lambda s: self._refund(s, int(txn_id), amount, actor, reason, key,
                                                                     digest))

    def _refund(self, s: Session, txn_id: int, amount: int | None, actor: str, reason: str, key: str | None,
                digest: str | None) -> FacePayTxnRow:
        fare = s.get(FacePayTxnRow, txn_id)
        if fare is None or fare.kind != "fare":
            raise NotFoundError(f"no fare transaction {txn_id}")
        self._rider_row(s, fare.rider_id, lock=True)
        acc = ledger.rider_account(fare.rider_id)
        charged = -int(s.execute(select(func.coalesce(func.sum(FacePayEntryRow.amount), 0)).where(
            FacePayEntryRow.txn_id == fare.id, FacePayEntryRow.account_id == acc)).scalar() or 0)
        done = sum(self._refunded(s, fare.id, acc))
        left = charged - done
        amount = left if amount is None else _amount(amount, "a refund", maximum=self.fs.max_balance)
        if left <= 0 or amount > left:
            raise InsufficientBalanceError(f"fare {txn_id} has {max(left, 0)} minor units left to refund")
        account = s.get(FacePayAccountRow, acc)
        to = acc if account is not None and account.status == "open" else ledger.PAYOUTS
        txn = ledger.post(s, "refund", [(to, amount), (ledger.FARES, -amount)], self.currency, actor=actor,
                          at=utcnow(), rider_id=fare.rider_id, journey_id=fare.journey_id, refund_of=fare.id,
                          memo=(reason or "refund")[:255], idempotency_key=key, request_sha256=digest)
        self.audit.append(s, actor=actor, action="facepay.refund", purpose=AUDIT_PURPOSE, target=fare.rider_id,
                          outcome="ok", details={"txn": int(txn.id), "fare_txn": fare.id, "amount": amount})
        return txn

    @staticmethod
    def _refunded(s: Session, fare_id: int, acc: str) -> list[int]:
        q = (select(FacePayEntryRow.amount).join(FacePayTxnRow, FacePayTxnRow.id == FacePayEntryRow.txn_id)
             .where(FacePayTxnRow.refund_of == fare_id, FacePayEntryRow.account_id.in_((acc, ledger.PAYOUTS))))
        return [int(a) for a in s.execute(q).scalars()]

    def open_dispute(self, passage_id: str, reason: str, *, actor: str, rider_id: str | None = None,
                     now: datetime | None = None) -> Dispute:
        """A rider (or an operator for them) contests a passage within the dispute window."""
        actor = require_actor(actor)
        reason = (reason or "").strip()
        if not 3 <= len(reason) <= 500:
            raise InputError("say what is wrong in 3-500 characters")
        at = _utc(now)
        with self.transaction() as s:
            p = s.get(FacePayPassageRow, str(passage_id))
            if p is None or p.rider_id is None or (rider_id is not None and p.rider_id != rider_id):
                raise NotFoundError(f"no passage {passage_id!r} of this rider")
            if as_utc(p.at) + timedelta(days=self.fs.dispute_window_days) < at:
                raise DisputeWindowClosedError(f"passages can be disputed for {self.fs.dispute_window_days:g} days")
            if s.execute(select(FacePayDisputeRow.id).where(FacePayDisputeRow.passage_id == p.id,
                                                            FacePayDisputeRow.status == "open")).first():
                raise ConflictError(f"passage {passage_id} already has an open dispute")
            row = FacePayDisputeRow(id=new_id(), passage_id=p.id, rider_id=p.rider_id, status="open", reason=reason,
                                    opened_at=at, opened_by=actor)
            s.add(row)
            s.flush()
            self.audit.append(s, actor=actor, action="facepay.dispute.open", purpose=AUDIT_PURPOSE,
                              target=p.rider_id, outcome="ok", details={"dispute": row.id, "passage": p.id})
            return self._to_dispute(s, row)

    def disputes(self, *, status: str | None = None, rider_id: str | None = None) -> list[Dispute]:
        q = select(FacePayDisputeRow)
        if status:
            q = q.where(FacePayDisputeRow.status == status)
        if rider_id:
            q = q.where(FacePayDisputeRow.rider_id == rider_id)
        with self._sessions() as s:
            return [self._to_dispute(s, r) for r in s.execute(q.order_by(FacePayDisputeRow.opened_at.desc()))
                    .scalars()]

    def dispute_evidence(self, dispute_id: str, *, actor: str) -> bytes:
        """The gate frame of a disputed passage (JPEG): an export of biometric data, audited."""
        actor = require_actor(actor)
        with self.transaction() as s:
            d = s.get(FacePayDisputeRow, str(dispute_id))
            p = s.get(FacePayPassageRow, d.passage_id) if d is not None else None
            if d is None or p is None or p.snapshot is None:
                raise NotFoundError(f"no evidence kept for dispute {dispute_id!r}")
            self.audit.append(s, actor=actor, action="facepay.export", purpose=AUDIT_PURPOSE, target=d.rider_id,
                              outcome="ok", details={"dispute": d.id, "what": "snapshot"})
            return self._snapshots.open(p.snapshot)

    def resolve_dispute(self, dispute_id: str, *, refund: bool, actor: str, amount: int | None = None,
                        note: str = "") -> Dispute:
        """Uphold (refund the passage's fare, all or `amount`) or reject a dispute."""
        actor = require_actor(actor)
        with self.transaction() as s:
            d = s.execute(select(FacePayDisputeRow).where(FacePayDisputeRow.id == str(dispute_id))
                          .with_for_update()).scalar()
            if d is None:
                raise NotFoundError(f"no dispute {dispute_id!r}")
            if d.status != "open":
                raise ConflictError(f"dispute {dispute_id} is already {d.status}")
            txn = None
            if refund:
                p = s.get(FacePayPassageRow, d.passage_id)
                j = s.get(FacePayJourneyRow, p.journey_id) if p is not None and p.journey_id else None
                if j is None or j.txn_id is None:
                    raise InputError("this passage charged nothing yet: there is nothing to refund")
                txn = self._refund(s, int(j.txn_id), amount, actor, f"dispute {d.id}: {note}"[:255], None, None)
            d.status = "refunded" if refund else "rejected"
            d.resolved_at, d.resolved_by = utcnow(), actor
            d.refund_txn_id = int(txn.id) if txn is not None else None
            self.audit.append(s, actor=actor, action="facepay.dispute.resolve", purpose=AUDIT_PURPOSE,
                              target=d.rider_id, outcome=d.status, details={"dispute": d.id, "note": note[:255]})
            return self._to_dispute(s, d)

    # -- reports and ledger -----------------------------------------------------
    def reconciliation(self, day: datetime | None = None) -> Reconciliation:
        with self._sessions() as s:
            return ledger.reconcile(s, _utc(day), self.currency)

    def ledger(self, *, account_id: str | None = None, rider_id: str | None = None, kind: str | None = None,
               since: datetime | None = None, until: datetime | None = None, offset: int = 0,
               limit: int = 100) -> list[LedgerTxn]:
        if kind is not None and kind not in ledger.KINDS:
            raise InputError(f"kind is one of {', '.join(ledger.KINDS)}")
        with self._sessions() as s:
            return ledger.transactions(s, account_id=account_id, rider_id=rider_id, kind=kind,
                                       since=since and _utc(since), until=until and _utc(until),
                                       offset=max(0, offset), limit=min(max(1, limit), 1000))

    def accounts(self) -> list[dict[str, Any]]:
        with self._sessions() as s:
            return [{"id": a.id, "rider_id": a.rider_id, "currency": a.currency, "balance": int(a.balance),
                     "status": a.status} for a in s.execute(select(FacePayAccountRow)
                                                            .order_by(FacePayAccountRow.id)).scalars()]

    # -- erasure ----------------------------------------------------------------
    def erase_rider(self, rider_id: str, *, actor: str) -> ErasureReport:
        """Right to erasure: the face and identity go (gallery erasure), an open journey ends
        at the capped fare, the balance is paid out, the account closes. What stays is what
        the law requires of payments: the ledger transactions and the journeys they charged,
        under the rider's random id, which no longer leads to a person."""
        actor = require_actor(actor)
        with self._sessions() as s:
            identity_id = self._rider_row(s, rider_id).identity_id
        if identity_id is not None:
            try:
                self.gallery.erase_identity(identity_id, actor)
            except NotFoundError:
                pass  # erased already (a retry after a failure below)
        with self.transaction() as s:
            row = self._rider_row(s, rider_id, lock=True)
            at = utcnow()
            capped = False
            j = s.execute(select(FacePayJourneyRow).where(FacePayJourneyRow.rider_id == rider_id,
                                                          FacePayJourneyRow.status == "open")).scalar()
            if j is not None:
                self._close_journey(s, j, None, at, actor)
                capped = True
            acc = ledger.rider_account(rider_id)
            left = ledger.balance(s, acc)
            if left > 0:
                ledger.post(s, "payout", [(acc, -left), (ledger.PAYOUTS, left)], self.currency, actor=actor, at=at,
                            rider_id=rider_id, memo="erasure: remaining balance refunded")
            s.execute(update(FacePayAccountRow).where(FacePayAccountRow.id == acc).values(status="closed"))
            row.status, row.closed_at, row.identity_id, row.key_sha256 = "closed", at, None, None
            # gate records that charged nothing are no financial record: they go
            gone = s.execute(delete(FacePayPassageRow).where(
                FacePayPassageRow.rider_id == rider_id,
                FacePayPassageRow.outcome.in_((Outcome.REFUSED.value, Outcome.DUPLICATE.value)),
                FacePayPassageRow.id.not_in(select(FacePayDisputeRow.passage_id)))).rowcount or 0
            snaps = s.execute(update(FacePayPassageRow).where(
                FacePayPassageRow.rider_id == rider_id, or_(FacePayPassageRow.snapshot.is_not(None),
                                                            FacePayPassageRow.similarity.is_not(None)))
                .values(snapshot=None, snapshot_until=None, similarity=None, live_score=None)).rowcount or 0
            s.execute(update(FacePayDisputeRow).where(FacePayDisputeRow.rider_id == rider_id)
                      .values(reason="(erased)"))
            self.audit.append(s, actor=actor, action="facepay.erase", purpose=AUDIT_PURPOSE, target=rider_id,
                              outcome="ok", details={"refunded": left, "currency": self.currency,
                                                     "journey_capped": capped})
        return ErasureReport(rider_id, max(left, 0), self.currency, capped, int(gone), int(snaps))

    # -- helpers ----------------------------------------------------------------
    @staticmethod
    def _snapshot(rgb: np.ndarray) -> bytes:
        h, w = rgb.shape[:2]
        scale = min(1.0, SNAPSHOT_MAX_SIDE / max(h, w))
        small = cv2.resize(rgb, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
        return buf.tobytes() if ok else b""

    @staticmethod
    def _rider_row(s: Session, rider_id: str | None, *, lock: bool = False) -> FacePayRiderRow:
        q = select(FacePayRiderRow).where(FacePayRiderRow.id == str(rider_id))
        row = s.execute(q.with_for_update() if lock else q).scalar()
        if row is None:
            raise NotFoundError(f"no rider {rider_id!r}")
        return row

    def _to_rider(self, s: Session, r: FacePayRiderRow) -> Rider:
        return Rider(r.id, r.identity_id, r.status, as_utc(r.created_at), as_utc(r.closed_at),
                     ledger.balance(s, ledger.rider_account(r.id)), self.currency)

    def _to_passage(self, r: FacePayPassageRow, *, replayed: bool = False) -> Passage:
        return Passage(r.id, r.idempotency_key, r.gate_id, r.station, r.direction, as_utc(r.at), r.outcome, r.reason,
                       r.rider_id, r.journey_id, r.same_as, r.fare, self.currency, r.txn_id, r.similarity,
                       r.live_score, r.snapshot is not None, replayed)

    @staticmethod
    def _to_dispute(s: Session, d: FacePayDisputeRow) -> Dispute:
        has = s.execute(select(FacePayPassageRow.snapshot.is_not(None)).where(
            FacePayPassageRow.id == d.passage_id)).scalar()
        return Dispute(d.id, d.passage_id, d.rider_id, d.status, d.reason, as_utc(d.opened_at), d.opened_by,
                       as_utc(d.resolved_at), d.resolved_by, d.refund_txn_id, bool(has))


__all__ = ["FacePay", "RIDER_KEY_PREFIX", "request_hash"]
