"""Phone log-in: the enrolled customer, live, now.

A log-in needs two things: a consumed active-challenge proof (the person did a
random order of actions with this session's nonce) and a 1:1 match of that
session's best frontal frame against the identity's own templates
(`Gallery.verify`, purpose `login`, strict by default). Matching the challenge's
own frame, not a separately sent selfie, is what ties the face to the live person.

Lock-out: `max_failures` failures in a row within `window_s` lock the identity for
`lockout_s`; while locked every attempt is refused without running a model (and
still audited). The counter lives in the database (`KycStore`), so it holds across
worker processes and restarts. A success clears it. An unknown identity is not
counted (there is nothing to lock), but it is audited by the gallery.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import NoFaceError
from ...types import Decision
from .evidence import LivenessEvidence
from .store import KycStore, LoginLockedError

if TYPE_CHECKING:
    from ...gallery import Gallery


@dataclass(frozen=True)
class LoginResult:
    identity_id: str
    success: bool
    reasons: tuple[str, ...]
    similarity: float | None = None
    threshold: float | None = None
    operating_point: str | None = None
    failures: int = 0
    locked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"identity_id": self.identity_id, "success": self.success, "reasons": list(self.reasons),
                "similarity": None if self.similarity is None else round(self.similarity, 4),
                "threshold": None if self.threshold is None else round(self.threshold, 4),
                "operating_point": self.operating_point, "failures": self.failures, "locked": self.locked}


def check_not_locked(store: KycStore, identity_id: str, actor: str) -> None:
    st = store.lock_state(identity_id)
    if st.locked:
        store.record(actor, "login", purpose="login", target=str(identity_id), outcome="refused",
                     details={"error": LoginLockedError.code, "retry_after_s": round(st.retry_after_s)})
        raise LoginLockedError(f"too many failed log-ins: this identity is locked for {st.retry_after_s:.0f} s more",
                               st.retry_after_s)


def login(gallery: Gallery, store: KycStore, identity_id: str, evidence: LivenessEvidence, actor: str) -> LoginResult:
    """Decide one log-in (the caller has checked the lock and consumed the proof)."""
    identity_id = str(identity_id)
    gallery.get_identity(identity_id)  # NotFoundError (404) for an unknown identity: nothing to count
    base = {"liveness_session_id": evidence.session_id, "liveness": evidence.kind}
    reasons: list[str] = []
    v = None
    if evidence.kind != "active" or not evidence.passed:
        reasons.append(f"no passed liveness challenge: {'; '.join(evidence.reasons) or 'none given'}")
    elif evidence.reference_frame is None:
        reasons.append("the liveness session kept no frontal frame to match")
    else:
        try:
            v = gallery.verify(identity_id, evidence.reference_frame, "login", actor,
                               operating_point=store.login.operating_point)
        except NoFaceError:
            reasons.append("no face in the liveness session's frame")
        else:
            if v.decision is Decision.NO_MATCH:
                reasons.append(f"the live face does not match the enrolled identity (similarity {v.similarity:.3f} "
                               f"< {v.threshold:.3f}, {v.operating_point})")
            elif v.decision is Decision.INCONCLUSIVE:
                reasons.append(f"the live face failed the quality gate ({', '.join(v.reasons)})")
    scores = {"similarity": round(v.similarity, 4), "threshold": round(v.threshold, 4),
              "operating_point": v.operating_point} if v is not None else {}
    if reasons:
        st = store.login_failed(identity_id, actor, {**base, **scores, "reasons": reasons})
        if st.locked:
            reasons.append(f"{st.failures} failures in a row: locked for {store.login.lockout_s:g} s")
        return LoginResult(identity_id, False, tuple(reasons), v.similarity if v else None, v.threshold if v else None,
                           v.operating_point if v else None, st.failures, st.locked)
    store.login_succeeded(identity_id, actor, {**base, **scores})
    assert v is not None
    return LoginResult(identity_id, True, (), v.similarity, v.threshold, v.operating_point)
