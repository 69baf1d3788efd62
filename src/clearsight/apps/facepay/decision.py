"""The gate's decision by face: one rider, or unsure and why.

Why so many ways to be unsure: a gate that guesses charges the wrong person. The
frame must hold one clear face (a second large face means two people at the gate:
who is passing?), pass the quality gate and the passive liveness check; then a 1:N
search over the riders holding a `facepay` consent, in decision mode at the strict
`facepay.fpir`, must name one identity, and the next candidate must be at least
`min_margin` behind it. Anything else is unsure: the gate does not open by face and
no money moves; the rider uses a ticket. The search is audited by the gallery
(`search` / `match` entries, actor `gate:<id>`).

Money is not decided here: the ledger checks the consent again, in the transaction
that charges (`FacePay.record_passage`).
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Callable

import numpy as np

from ...gallery.consent import Purpose
from ...gallery.openset import SearchMode
from ...settings import FacePaySettings
from ...vision.quality import gate_reasons
from .records import GateDecision, Unsure

if TYPE_CHECKING:
    from ...face.liveness import PassiveLiveness
    from ...face.pipeline import FacePipeline, FaceTemplate
    from ...gallery import Gallery


class GateDecider:
    def __init__(self, gallery: Gallery, settings: FacePaySettings, *, pipeline: FacePipeline | None = None,
                 liveness: PassiveLiveness | Callable[[], PassiveLiveness] | None = None,
                 inference: Callable[[], AbstractContextManager] | None = None) -> None:
        self.gallery = gallery
        self.fs = settings
        self._pipeline = pipeline
        self._liveness = liveness
        self._inference = inference or (lambda: nullcontext())
        self._lock = threading.Lock()

    @property
    def pipeline(self) -> FacePipeline:
        return self._pipeline or self.gallery.pipeline

    def liveness(self) -> PassiveLiveness:
        with self._lock:
            if self._liveness is None:
                from ...face.liveness import PassiveLiveness

                self._liveness = PassiveLiveness()
            elif not hasattr(self._liveness, "check"):
                self._liveness = self._liveness()  # a factory: the service's shared models
            return self._liveness  # type: ignore[return-value]

    def decide(self, rgb: np.ndarray, *, actor: str) -> GateDecision:
        """Decide on one RGB frame (see the module docstring for every way to be unsure).

        One frame, not a fused burst: the mean template of 5 webcam frames made fewer riders
        pass, not more (bench/facepay.py table 1c: 7% vs 18% at FPIR 1e-4), as what the
        frames share (camera, light) is also what the nearest other riders' templates share."""
        checked = self.check_frame(rgb)
        if isinstance(checked, GateDecision):
            return checked
        template, live = checked
        return self.decide_template(template.embedding, actor=actor, live_score=live)

    def check_frame(self, rgb: np.ndarray) -> tuple[FaceTemplate, float | None] | GateDecision:
        """One frame's face checks: its template and live score, or why it cannot be used."""
        fs = self.fs
        pipe = self.pipeline
        with self._inference():
            faces = pipe.detect(rgb, mesh=fs.require_liveness)
            if not faces:
                return GateDecision(None, Unsure.NO_FACE)
            faces = sorted(faces, key=lambda f: -f.box.area)
            face = faces[0]
            if len(faces) > 1 and faces[1].box.area >= fs.second_face_ratio * face.box.area:
                return GateDecision(None, Unsure.SEVERAL_FACES)
            template = pipe.templates(rgb, [face])[0]
            reasons = gate_reasons(template.quality, pipe.settings)
            if reasons:
                return GateDecision(None, Unsure.LOW_QUALITY, quality_reasons=tuple(reasons))
            live = None
            if fs.require_liveness:
                result = self.liveness().check(rgb, face)
                live = float(result.live_score)
                if live < fs.liveness_threshold:
                    return GateDecision(None, Unsure.NOT_LIVE, live_score=live)
        return template, live

    def decide_template(self, embedding: object, *, actor: str, live_score: float | None = None) -> GateDecision:
        """The 1:N part alone, on a template that already passed the face checks."""
        fs = self.fs
        hits = self.gallery.search(embedding, Purpose.FACEPAY, actor, top_k=2, mode=SearchMode.DECISION,
                                   fpir=fs.fpir)
        if not hits:
            return GateDecision(None, Unsure.NO_MATCH, live_score=live_score)
        best = hits[0]
        second = hits[1].similarity if len(hits) > 1 else None
        common = dict(similarity=float(best.similarity), second=second, threshold=best.threshold,
                      live_score=live_score, n=best.n, fpir=best.fpir)
        if not best.is_match:
            return GateDecision(None, Unsure.NO_MATCH, **common)
        if second is not None and best.similarity - second < fs.min_margin:
            return GateDecision(None, Unsure.AMBIGUOUS, **common)
        return GateDecision(best.identity_id, None, **common)


__all__ = ["GateDecider"]
