"""1:1 verification at named operating points.

A threshold means nothing without the false-match rate it buys, and that rate
depends on the embedding model. Operating points are therefore calibrated per
model from impostor score distributions on real faces (`bench/calibrate.py`) and
shipped as data (`operating_points.json`); code names the rate it wants, never a
raw number. `verify_gated` adds the quality gate (a face that fails it gives
`inconclusive`, never a plain match) and the ID-photo mode (`id_photo_points.json`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import IncompatibleTemplatesError, InputError, ModelError
from ..settings import FaceSettings
from ..types import Decision, Embedding, QualityReport, Verification
from ..vision.quality import gate_reasons, id_photo_settings

# name -> target false-match rate
OPERATING_POINTS: dict[str, float] = {"strict": 1e-4, "balanced": 1e-3, "lenient": 1e-2}


@dataclass(frozen=True)
class OperatingPoint:
    name: str
    target_fmr: float
    threshold: float


@lru_cache(maxsize=1)
def _table() -> dict:
    text = resources.files("clearsight.face").joinpath("operating_points.json").read_text()
    return json.loads(text)


def calibration(model_id: str) -> dict:
    try:
        return _table()[model_id]
    except KeyError:
        raise ModelError(
            f"no calibrated operating points for embedder {model_id!r}; run bench/calibrate.py"
        ) from None


def operating_point(model_id: str, name: str) -> OperatingPoint:
    if name not in OPERATING_POINTS:
        raise InputError(f"unknown operating point {name!r}; choose from {', '.join(OPERATING_POINTS)}")
    entry = calibration(model_id)["points"][name]
    return OperatingPoint(name=name, target_fmr=float(entry["target_fmr"]), threshold=float(entry["threshold"]))


def operating_points(model_id: str) -> list[OperatingPoint]:
    return [operating_point(model_id, n) for n in OPERATING_POINTS]


def similarity(a: Embedding, b: Embedding) -> float:
    if a.model != b.model:
        raise IncompatibleTemplatesError(f"templates from {a.model!r} and {b.model!r} cannot be compared")
    return float(np.dot(a.vector, b.vector))


def verify_embeddings(a: Embedding, b: Embedding, op: str = "balanced") -> Verification:
    sim = similarity(a, b)
    point = operating_point(a.model, op)
    return Verification(
        similarity=sim,
        decision=Decision.MATCH if sim >= point.threshold else Decision.NO_MATCH,
        threshold=point.threshold,
        operating_point=point.name,
        target_fmr=point.target_fmr,
        model=a.model,
    )


@lru_cache(maxsize=1)
def _id_photo_table() -> dict:
    text = resources.files("clearsight.face").joinpath("id_photo_points.json").read_text()
    return json.loads(text)


def id_photo_operating_point(model_id: str, name: str) -> OperatingPoint:
    """A cross-quality point: selfie vs a small, printed or scanned document portrait.

    Degraded portraits score differently against strangers than clean photos do, so
    the threshold of each named false-match rate is calibrated on pairs of a clean
    LFW photo and a degraded one (bench/identify.py --calibrate)."""
    if name not in OPERATING_POINTS:
        raise InputError(f"unknown operating point {name!r}; choose from {', '.join(OPERATING_POINTS)}")
    try:
        entry = _id_photo_table()[model_id]["points"][name]
    except KeyError:
        raise ModelError(f"no ID-photo operating points for embedder {model_id!r}; run bench/identify.py --calibrate"
                         ) from None
    return OperatingPoint(name=name, target_fmr=float(entry["target_fmr"]), threshold=float(entry["threshold"]))


def verify_gated(a: Embedding, qa: QualityReport, b: Embedding, qb: QualityReport, op: str = "balanced", *,
                 id_photo: bool = False, settings: FaceSettings | None = None) -> Verification:
    """1:1 behind the quality gate: a face that fails it makes the answer inconclusive.

    Why never a plain answer: a tiny, blurred or turned face gives a similarity the
    calibration never saw, on either side of the threshold (a 26-px face scored as
    "same person"). The reasons name the face ("a:" or "b:") and the failed check
    so the user knows what to retake. With `id_photo`, `b` is a document portrait:
    it passes the ID-photo gate (smaller, softer faces) and the decision uses the
    cross-quality threshold calibrated for such portraits.
    """
    gate_b = id_photo_settings(settings) if id_photo else settings
    reasons = tuple(f"a:{r}" for r in gate_reasons(qa, settings)) + tuple(f"b:{r}" for r in gate_reasons(qb, gate_b))
    sim = similarity(a, b)
    point = id_photo_operating_point(a.model, op) if id_photo else operating_point(a.model, op)
    if reasons:
        decision = Decision.INCONCLUSIVE
    else:
        decision = Decision.MATCH if sim >= point.threshold else Decision.NO_MATCH
    return Verification(similarity=sim, decision=decision, threshold=point.threshold, operating_point=point.name,
                        target_fmr=point.target_fmr, model=a.model, reasons=reasons, id_photo=id_photo)


def strongest_operating_point(model_id: str, sim: float) -> str | None:
    """The strictest named point a similarity passes (for ranking search hits)."""
    passed = [p for p in operating_points(model_id) if sim >= p.threshold]
    return min(passed, key=lambda p: p.target_fmr).name if passed else None
