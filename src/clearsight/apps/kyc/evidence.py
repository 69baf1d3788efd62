"""Liveness evidence: what a KYC decision or a log-in knows about the live person.

Three kinds, in decreasing strength: `active` (a challenge session, random order,
nonce, consumed once), `passive` (one selfie's passive score: trained on printed
photos only, never enough on its own) and `none`. Consuming a session is audited
with its result either way (`liveness.consume`), so the log shows which proof
opened which sign-up or log-in, and which refused proofs were tried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ...face.liveness_session import LivenessNotPassedError

if TYPE_CHECKING:
    from ...face.liveness_session import LivenessSession
    from .store import KycStore


@dataclass(frozen=True)
class LivenessEvidence:
    kind: Literal["active", "passive", "none"]
    passed: bool
    reasons: tuple[str, ...] = ()
    session_id: str | None = None
    steps: tuple[str, ...] = ()
    passive_score: float | None = None
    reference_frame: np.ndarray | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        return {"kind": self.kind, "passed": self.passed, "session_id": self.session_id, "steps": list(self.steps),
                "passive_live_score": None if self.passive_score is None else round(float(self.passive_score), 4),
                "reasons": list(self.reasons)}


NO_LIVENESS = LivenessEvidence("none", False)


def from_proof(proof: dict[str, Any], session_id: str | None) -> LivenessEvidence:
    """A consumed session's proof (`LivenessSession.consume()`) as evidence."""
    return LivenessEvidence("active", True, (), session_id, tuple(proof.get("steps") or ()),
                            proof.get("passive_live_score"), proof.get("reference_frame"))


def refused(error: Exception, session_id: str | None) -> LivenessEvidence:
    return LivenessEvidence("active", False, (str(error),), session_id)


def consume(session: LivenessSession, session_id: str | None) -> LivenessEvidence:
    """Consume a session in this process (the CLI, a clip): passed once, refused after."""
    try:
        return from_proof(session.consume(), session_id)
    except LivenessNotPassedError as exc:
        return refused(exc, session_id)


def audit_consumed(store: KycStore, actor: str, purpose: str, evidence: LivenessEvidence, for_target: str | None
                   ) -> None:
    """Record a consumed (or refused) liveness proof and what it was used for."""
    if evidence.kind != "active":
        return
    store.record(actor, "liveness.consume", purpose=purpose, target=evidence.session_id,
                 outcome="passed" if evidence.passed else "refused",
                 details={"for": for_target, "steps": list(evidence.steps),
                          "passive_live_score": evidence.summary()["passive_live_score"],
                          "reasons": list(evidence.reasons)})
