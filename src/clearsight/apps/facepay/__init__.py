"""Ticketless metro face-pay (issue 17): riders with a `facepay` consent and a stored-value
account, gates, journeys, a double-entry ledger that charges one passage exactly once,
refunds, disputes with evidence, and the daily reconciliation.

An app: it builds on the gallery (open-set 1:N in decision mode, consent), passive
liveness and the quality gate, and is independent of every other app."""

from .decision import GateDecider
from .errors import AccountClosedError, DisputeWindowClosedError, IdempotencyKeyReusedError, InsufficientBalanceError
from .fares import journey_fare
from .records import (Direction, Dispute, ErasureReport, Gate, GateDecision, Housekeeping, Journey, LedgerTxn,
                      Outcome, Passage, Reconciliation, Refusal, Rider, RiderEnrolment, Unsure)
from .service import FacePay, request_hash

__all__ = [
    "AccountClosedError", "Direction", "Dispute", "DisputeWindowClosedError", "ErasureReport", "FacePay", "Gate",
    "GateDecider", "GateDecision", "Housekeeping", "IdempotencyKeyReusedError", "InsufficientBalanceError", "Journey",
    "LedgerTxn", "Outcome", "Passage", "Reconciliation", "Refusal", "Rider", "RiderEnrolment", "Unsure",
    "journey_fare", "request_hash",
]
