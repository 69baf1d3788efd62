"""Open-set search policy: modes per purpose, the decision at a target FPIR over N,
legal bases, multi-template fusion and the audit. Templates are synthetic here (the
FPIR on real faces is tests/integration/gallery/test_openset_lfw.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clearsight.errors import InputError
from clearsight.gallery.openset import SearchMode, calibration, expected_fpir, open_set_point, required_fmr
from clearsight.types import Embedding

from .helpers import MODEL, emb, near, person, vec


def test_the_threshold_rises_with_n_and_the_model_holds_the_fpir():
    pts = [open_set_point(MODEL, SearchMode.DECISION, 1e-3, n) for n in (1, 10, 100, 1000)]
    assert all(a.threshold < b.threshold for a, b in zip(pts, pts[1:]))
    cal = calibration(MODEL)
    for p in pts:
        assert math.isclose(expected_fpir(cal.fmr(p.threshold), p.n), 1e-3, rel_tol=1e-3)
        assert math.isclose(p.fmr, required_fmr(1e-3, p.n), rel_tol=1e-9)
    # a stricter target over more people costs misses: the expected FNIR never falls
    assert all(a.expected_fnir <= b.expected_fnir for a, b in zip(pts, pts[1:]))


def test_a_target_beyond_the_calibration_matches_nobody_and_says_why():
    p = open_set_point(MODEL, SearchMode.DECISION, 1e-4, 10_000_000)
    assert not p.reachable and math.isinf(p.threshold) and "cannot reach" in p.note
    assert open_set_point("some-uncalibrated-model", SearchMode.DECISION, 1e-3, 10).reachable is False


def test_decision_mode_one_identity_or_none(gallery):
    a = person(gallery, "Ada", "access", seed=1)
    person(gallery, "Bo", "access", seed=2)
    hits = gallery.search(emb(1), "access", "door-1", top_k=5)
    assert [h.is_match for h in hits] == [True, False]
    top = hits[0]
    assert top.identity_id == a.id and top.mode == "decision" and top.n == 2 and top.fpir == 1e-3
    assert top.threshold == pytest.approx(open_set_point(MODEL, SearchMode.DECISION, 1e-3, 2).threshold)
    # a stranger is nobody
    assert not any(h.is_match for h in gallery.search(emb(99), "access", "door-1"))
    # facepay holds a stricter default FPIR; the caller may ask for its own
    person(gallery, "Cy", "facepay", seed=3)
    assert gallery.search(emb(3), "facepay", "till")[0].fpir == 1e-4
    assert gallery.search(emb(1), "access", "door-1", fpir=1e-2)[0].fpir == 1e-2
    with pytest.raises(InputError):
        gallery.search(emb(1), "access", "door-1", fpir=2.0)


def test_candidates_mode_is_never_a_match(gallery):
    w = person(gallery, "Wanted", "watchlist", seed=5)
    hits = gallery.search(emb(5), "watchlist", "camera:gate")
    assert hits[0].identity_id == w.id and hits[0].similarity > 0.99 and hits[0].above_threshold
    assert hits[0].mode == "candidates" and not any(h.is_match for h in hits)
    # a decision purpose can be searched in candidates mode for review; the reverse is refused
    person(gallery, "Emp", "access", seed=6)
    assert not gallery.search(emb(6), "access", "desk", mode="candidates")[0].is_match
    with pytest.raises(InputError, match="candidates mode only"):
        gallery.search(emb(5), "watchlist", "camera:gate", mode="decision")


def test_investigation_and_missing_person_need_a_legal_basis(gallery):
    ident = gallery.create_identity(None, "Missing", actor="officer")
    for purpose in ("investigation", "missing_person"):
        with pytest.raises(InputError, match="legal basis"):
            gallery.add_consent(ident.id, purpose, "consent", "officer", actor="officer")
    gallery.add_consent(ident.id, "missing_person", "vital_interests (case 2026/118)", "officer", actor="officer")
    gallery.enrol_embedding(ident.id, emb(7), "officer")
    hits = gallery.search(near(7), "missing_person", "officer")
    assert hits[0].identity_id == ident.id and hits[0].mode == "candidates" and not hits[0].is_match
    with pytest.raises(InputError, match="legal basis"):
        gallery.enrol_new_identity(None, "Suspect", [emb(8)], actor="officer", purpose="investigation")


def test_every_decision_is_audited_with_its_mode_and_operating_point(gallery):
    a = person(gallery, "Ada", "access", seed=11)
    w = person(gallery, "Wanted", "watchlist", seed=12)
    gallery.search(emb(11), "access", "door-1")
    gallery.search(emb(12), "watchlist", "camera:gate")
    entries = gallery.audit_entries(limit=1000)
    dec = next(e for e in entries if e.action == "search" and e.purpose == "access")
    assert dec.outcome == "match" and dec.details["mode"] == "decision" and dec.details["review"] == "automatic"
    assert dec.details["fpir"] == 1e-3 and dec.details["n"] == 1 and dec.details["threshold"] > 0.9
    assert {"fmr", "expected_fnir", "reachable"} <= set(dec.details)
    match = next(e for e in entries if e.action == "match")
    assert match.target == a.id and match.details["mode"] == "decision" and match.details["n"] == 1
    cand = next(e for e in entries if e.action == "search" and e.purpose == "watchlist")
    assert cand.outcome == "candidates" and cand.details["mode"] == "candidates" and cand.details["review"] == "human"
    review = next(e for e in entries if e.action == "candidate")
    assert review.target == w.id and review.outcome == "for_review"
    assert not [e for e in entries if e.action == "match" and e.purpose == "watchlist"]
    assert gallery.verify_audit().ok


def test_several_templates_are_fused_by_quality(gallery):
    ident = person(gallery, "Multi", "access")
    good = vec(21)
    off = vec(22)  # a poor photo: far from the person
    gallery.enrol_embedding(ident.id, Embedding(good, MODEL), "hr", quality=_q(0.95))
    gallery.enrol_embedding(ident.id, Embedding(off, MODEL), "hr", quality=_q(0.05))
    [hit] = gallery.search(Embedding(good, MODEL), "access", "door")
    assert hit.templates == 2
    w = 0.95 * good + 0.05 * off
    assert hit.similarity == pytest.approx(float(w @ good) / float(np.linalg.norm(w)), abs=1e-4)
    # the best single template is named; the fused score is below it but far above the plain mean
    assert float((good + off) @ good) / 2 < hit.similarity < 1.0


def _q(score: float):
    from clearsight.types import HeadPose, QualityReport

    return QualityReport(score, True, (), 100.0, 100.0, 120.0, HeadPose(0.0, 0.0, 0.0))
