"""KYC for a lending app's sign-up: a government ID, a selfie, a live person, no duplicate.

The decision is `pass`, `review` (a person looks at it) or `fail`, with every
reason. Each check can only lower it:

| check | fail | review |
|---|---|---|
| portrait on the document | none found | |
| MRZ (TD3 / TD1) | expired document | none read; a check digit fails (misread or altered) |
| liveness | a challenge that did not pass; passive score below the minimum | no active challenge (passive at best) |
| selfie vs liveness face | another person | gate failed |
| selfie vs portrait (ID-photo mode, strict) | no match | inconclusive (quality gate) |
| duplicate (1:N, decision mode, purpose kyc) | the face is enrolled under another name | enrolled under the same name |

Why no pass without an active challenge: a selfie can be a photo of a photo, and
the passive score is trained on printed attacks only; a random-order challenge
with a nonce is what ties the selfie to a person in front of the camera now.

Audited: the duplicate search (by the gallery, with its mode and operating
point), the consumed liveness proof, and the decision with its reasons and scores
(`kyc.decision`). What the document says (name, number, dates) goes back to the
caller in the result and is never written to the log or the session row.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import InputError, NoFaceError
from ...face.document import DocumentRead, DocumentReader
from ...face.verification import verify_gated
from ...io import ImageInput, load_image
from ...types import Decision
from .evidence import LivenessEvidence

if TYPE_CHECKING:
    from ...config import Settings
    from ...face.liveness import PassiveLiveness
    from ...face.pipeline import FacePipeline, FaceTemplate
    from ...gallery import Gallery

PASS, REVIEW, FAIL = "pass", "review", "fail"


@dataclass(frozen=True)
class KycResult:
    decision: str
    reasons: tuple[str, ...]
    checks: dict[str, Any]  # scores and flags: stored with the session and audited
    document: dict[str, Any] = field(default_factory=dict)  # what the document says: returned once, never stored
    identity_id: str | None = None  # the identity enrolled on a pass, when asked

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "reasons": list(self.reasons), "checks": self.checks,
                "document": self.document, "identity_id": self.identity_id}


def same_name(a: str, b: str) -> bool:
    """Names as MRZs write them: case, accents, punctuation and word order ignored."""
    def words(s: str) -> list[str]:
        s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().upper()
        return sorted(w for w in re.split(r"[^A-Z]+", s) if w)

    return bool(words(a)) and words(a) == words(b)


class _Verdict:
    def __init__(self) -> None:
        self.fail: list[str] = []
        self.review: list[str] = []

    def decision(self) -> str:
        return FAIL if self.fail else REVIEW if self.review else PASS

    def reasons(self) -> tuple[str, ...]:
        return tuple(self.fail + self.review)


class KycCheck:
    """One sign-up check. The pipeline, gallery and passive model are the caller's
    (the service's shared ones, or the CLI's); the document reader is made once."""

    def __init__(self, pipeline: FacePipeline, gallery: Gallery, settings: Settings,
                 passive: PassiveLiveness | None = None, reader: DocumentReader | None = None) -> None:
        self.pipeline = pipeline
        self.gallery = gallery
        self.settings = settings
        self._passive = passive
        self.reader = reader or DocumentReader(pipeline)

    @property
    def passive(self) -> PassiveLiveness:
        if self._passive is None:
            from ...face.liveness import PassiveLiveness

            self._passive = PassiveLiveness()
        return self._passive

    def run(self, document: ImageInput, selfie: ImageInput | None, liveness: LivenessEvidence, actor: str, *,
            today: date | None = None) -> KycResult:
        selfie_rgb = load_image(selfie) if selfie is not None else liveness.reference_frame
        if selfie_rgb is None:
            raise InputError("send a selfie, or run a liveness session first (its best frame is the selfie)")
        return self.decide(self.reader.read(document), selfie_rgb, liveness, actor,
                           separate_selfie=selfie is not None, today=today)

    def decide(self, doc: DocumentRead, selfie_rgb: np.ndarray, liveness: LivenessEvidence, actor: str, *,
               separate_selfie: bool = True, today: date | None = None) -> KycResult:
        """The decision on a document already read (`DocumentReader.read`)."""
        v = _Verdict()
        checks: dict[str, Any] = {"liveness": liveness.summary()}
        info = self._document(doc, v, checks, today)
        self._liveness(selfie_rgb, separate_selfie, liveness, v, checks)
        try:
            me = self.pipeline.primary_template(selfie_rgb)
        except NoFaceError:
            v.fail.append("no face found in the selfie")
            return KycResult(v.decision(), v.reasons(), checks, info)
        self._match_portrait(me, doc, v, checks)
        self._duplicates(me, doc, v, checks, actor)
        return KycResult(v.decision(), v.reasons(), checks, info)

    # -- the document --------------------------------------------------------------
    def _document(self, doc: DocumentRead, v: _Verdict, checks: dict[str, Any], today: date | None) -> dict[str, Any]:
        checks["document"] = {"page_found": doc.page_found, "rotation": doc.rotation,
                              "portrait_found": doc.portrait is not None,
                              "portrait_width_px": round(doc.portrait.face.box.width) if doc.portrait else None,
                              "mrz": None}
        if doc.portrait is None:
            v.fail.append("no portrait found on the document")
        m = doc.mrz
        if m is None:
            v.review.append("no machine-readable zone (MRZ) read on the document")
            return {"mrz": None}
        checks["document"]["mrz"] = {"format": m.format, "valid": m.valid, "failed_checks": m.failed_checks,
                                     "repairs": len(m.repairs), "issuing_state": m.issuing_state,
                                     "expired": m.expired(today)}
        if not m.valid:
            v.review.append(f"MRZ check digits fail ({', '.join(m.failed_checks)}): misread or altered; retake the "
                            "photo or check the document by hand")
        elif m.expired(today):
            v.fail.append(f"the document expired ({m.expiry()})")
        return {"mrz": m.to_dict()}

    # -- the live person --------------------------------------------------------------
    def _liveness(self, selfie_rgb: np.ndarray, separate_selfie: bool, ev: LivenessEvidence, v: _Verdict,
                  checks: dict[str, Any]) -> None:
        if ev.kind == "active":
            if not ev.passed:
                v.fail.append(f"liveness challenge not passed: {'; '.join(ev.reasons) or 'unknown'}")
                return
            if separate_selfie and ev.reference_frame is not None:
                try:
                    a = self.pipeline.primary_template(selfie_rgb)
                    b = self.pipeline.primary_template(ev.reference_frame)
                except NoFaceError:
                    v.review.append("the liveness session's frame shows no face to compare with the selfie")
                    return
                r = verify_gated(a.embedding, a.quality, b.embedding, b.quality,
                                 self.settings.kyc.liveness_operating_point, settings=self.pipeline.settings)
                checks["selfie_vs_liveness"] = {"decision": r.decision.value, "similarity": round(r.similarity, 4),
                                                "threshold": round(r.threshold, 4),
                                                "operating_point": r.operating_point}
                if r.decision is Decision.NO_MATCH:
                    v.fail.append("the selfie is not the face that did the liveness challenge")
                elif r.decision is Decision.INCONCLUSIVE:
                    v.review.append(f"selfie vs liveness face inconclusive ({', '.join(r.reasons)})")
            return
        # no challenge: the passive score is a signal, never a pass
        faces = self.pipeline.detect(selfie_rgb, mesh=True)
        if faces:
            face = max(faces, key=lambda f: f.box.area)
            try:
                score = self.passive.check(selfie_rgb, face).live_score
            except InputError:
                score = None
            checks["liveness"]["passive_live_score"] = None if score is None else round(score, 4)
            if score is not None and score < self.settings.kyc.min_passive_live_score:
                v.fail.append(f"the selfie does not look live (passive score {score:.2f} < "
                              f"{self.settings.kyc.min_passive_live_score:g}): a photo of a photo or a screen?")
                return
        v.review.append("no active liveness challenge: without one a sign-up is at best reviewed by a person")

    # -- selfie vs portrait ---------------------------------------------------------------
    def _match_portrait(self, me: FaceTemplate, doc: DocumentRead, v: _Verdict, checks: dict[str, Any]) -> None:
        if doc.portrait is None:
            return
        try:
            port = self.pipeline.primary_template(doc.portrait.crop)
        except NoFaceError:
            v.fail.append("the document portrait could not be measured")
            return
        r = verify_gated(me.embedding, me.quality, port.embedding, port.quality, self.settings.kyc.operating_point,
                         id_photo=True, settings=self.pipeline.settings)
        checks["selfie_vs_portrait"] = {"decision": r.decision.value, "similarity": round(r.similarity, 4),
                                        "threshold": round(r.threshold, 4), "operating_point": r.operating_point,
                                        "target_fmr": r.target_fmr, "id_photo": True, "reasons": list(r.reasons)}
        if r.decision is Decision.NO_MATCH:
            v.fail.append(f"the selfie does not match the document portrait (similarity {r.similarity:.3f} < "
                          f"{r.threshold:.3f}, {r.operating_point}, ID-photo mode)")
        elif r.decision is Decision.INCONCLUSIVE:
            v.review.append(f"selfie vs document portrait inconclusive: {', '.join(r.reasons)}")

    # -- already enrolled? -------------------------------------------------------------------
    def _duplicates(self, me: FaceTemplate, doc: DocumentRead, v: _Verdict, checks: dict[str, Any], actor: str) -> None:
        hits = self.gallery.search(me.embedding, "kyc", actor, top_k=3, mode="decision",
                                   fpir=self.settings.kyc.duplicate_fpir)
        hit = next((h for h in hits if h.is_match), None)
        top = hits[0] if hits else None
        checks["duplicate"] = {"found": hit is not None, "identity_id": hit.identity_id if hit else None,
                               "similarity": round(top.similarity, 4) if top else None,
                               "threshold": None if top is None or top.threshold is None else round(top.threshold, 4),
                               "fpir": top.fpir if top else None, "n": top.n if top else 0, "mode": "decision"}
        if hit is None:
            return
        name = doc.mrz.name if doc.mrz is not None else ""
        if name and same_name(name, hit.display_name or ""):
            v.review.append(f"this face is already enrolled under the same name (identity {hit.identity_id}): "
                            "a returning customer?")
        else:
            v.fail.append(f"this face is already enrolled under another name (identity {hit.identity_id}, "
                          f"similarity {hit.similarity:.3f} >= {hit.threshold:.3f} at FPIR {hit.fpir:g}, N={hit.n})")

    # -- sign-up ----------------------------------------------------------------------------
    def enrol(self, result: KycResult, selfie_rgb: np.ndarray, actor: str, external_id: str | None) -> str:
        """On a pass only: the new customer, consented for kyc and login, with the selfie's face."""
        if result.decision != PASS:
            raise InputError("only a passed KYC session enrols its applicant")
        mrz = result.document.get("mrz") or {}
        name = " ".join(p for p in (mrz.get("given_names"), mrz.get("surname")) if p) or "KYC applicant"
        out = self.gallery.enrol_new_identity(external_id, name, [selfie_rgb], actor=actor, purpose="kyc",
                                              legal_basis="contract", granted_by=actor)
        self.gallery.add_consent(out.identity.id, "login", "consent", granted_by=name, actor=actor)
        return out.identity.id


def audit_details(result: KycResult) -> dict[str, Any]:
    """What the audit keeps of a decision: scores, flags, ids; no name, number or date."""
    c = result.checks
    doc = c.get("document") or {}
    mrz = doc.get("mrz") or {}
    return {"portrait_found": doc.get("portrait_found"), "mrz_format": mrz.get("format"),
            "mrz_valid": mrz.get("valid"), "liveness": (c.get("liveness") or {}).get("kind"),
            "liveness_passed": (c.get("liveness") or {}).get("passed"),
            "selfie_vs_portrait": c.get("selfie_vs_portrait"), "duplicate": c.get("duplicate"),
            "identity_id": result.identity_id}
