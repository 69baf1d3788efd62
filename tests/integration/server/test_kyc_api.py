"""KYC sessions and phone log-in over HTTP, on real frames: the liveness challenge is
run with JPEG frames of face_recognition's short_hamilton_clip.mp4 (the singer turns
to his right in frames 98-116), the ID document is a composed specimen whose portrait
is the singer from another frame of the clip. Decisions, consumed proofs and
log-ins are audited; a lock-out is kept in the database."""

from __future__ import annotations

import cv2
import pytest

from tests.conftest import data_path

pytestmark = pytest.mark.integration

CLIP = ("faces", "face_recognition_examples", "examples", "short_hamilton_clip.mp4")
FIRST, LAST, PORTRAIT_FRAME = 98, 116, 180


@pytest.fixture(scope="module")
def clip():
    cap = cv2.VideoCapture(str(data_path(*CLIP)))
    frames = []
    for _ in range(max(LAST, PORTRAIT_FRAME) + 1):
        ok, bgr = cap.read()
        assert ok
        frames.append(bgr)
    cap.release()
    return frames


@pytest.fixture(scope="module")
def key(service):
    client, _ = service
    plain = client.app.state.clearsight.keys.create("operator", "kyc", rate_limit=100_000)[1]
    return {"Authorization": f"Bearer {plain}"}


def _jpeg(bgr) -> bytes:
    return cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()


def _run_challenge(client, h, live: dict, clip) -> None:
    """Feed the clip's turn to the right into the session (the service drew the order; the test sets the one the clip shows)."""
    from clearsight.face.challenge import ActiveChallenge, ChallengeConfig

    store = client.app.state.clearsight.liveness_sessions
    owner = next(k for k in store._items if k[1] == live["session_id"])[0]
    sess = store.get(owner, live["session_id"]).value
    old = sess.challenge
    # windows wide enough for a loaded test machine: frames arrive on the server's clock
    sess.challenge = ActiveChallenge(("turn_right",), old.nonce, old.issued_at,
                                     ChallengeConfig(steps=1, step_timeout_s=300, ttl_s=900))
    for bgr in clip[FIRST:LAST + 1]:
        r = client.post(f"/v1/liveness/sessions/{live['session_id']}/frames", headers=h,
                        files={"image": ("f.jpg", _jpeg(bgr), "image/jpeg")}, data={"nonce": live["nonce"]})
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("passed", "failed"):
            break
    assert r.json()["status"] == "passed", r.json()["reasons"]


@pytest.fixture(scope="module")
def document(service, clip):
    """A photographed specimen passport whose portrait is the singer (frame 180, not one the challenge sees)."""
    from clearsight.apps.kyc.specimen import compose, jpeg_bytes, photograph

    client, _ = service
    rgb = cv2.cvtColor(clip[PORTRAIT_FRAME], cv2.COLOR_BGR2RGB)
    face = client.app.state.clearsight.pipeline.primary_template(rgb).face
    b = face.box.scaled(2.2).clip(rgb.shape[1], rgb.shape[0])
    spec = compose(rgb[int(b.y1):int(b.y2), int(b.x1):int(b.x2)], 6)
    return jpeg_bytes(photograph(spec.page, seed=6))


def test_kyc_session_flow_with_liveness(service, key, clip, document, assert_problem):
    client, _ = service
    r = client.post("/v1/kyc/sessions", json={"steps": 1}, headers=key)
    assert r.status_code == 201, r.text
    sess = r.json()
    assert sess["status"] == "open" and sess["liveness"]["nonce"] and sess["liveness_session_id"]
    _run_challenge(client, key, sess["liveness"], clip)
    # a malformed upload is refused and leaves the session open
    assert_problem(client.post(f"/v1/kyc/sessions/{sess['session_id']}/submit", headers=key,
                               files={"document": ("d.jpg", b"not a jpeg")}), 422, "image_decode_error")
    assert client.get(f"/v1/kyc/sessions/{sess['session_id']}", headers=key).json()["status"] == "open"
    r = client.post(f"/v1/kyc/sessions/{sess['session_id']}/submit", headers=key,
                    files={"document": ("d.jpg", document, "image/jpeg")},
                    data={"enrol": "true", "external_id": "applicant-1"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["identity_id"] is not None) == (out["decision"] == "pass")  # enrolled on a pass only
    assert out["checks"]["liveness"] == {**out["checks"]["liveness"], "kind": "active", "passed": True}
    assert out["checks"]["document"]["portrait_found"] and out["checks"]["selfie_vs_portrait"]["id_photo"]
    assert out["decision"] in ("pass", "review", "fail") and out["status"] == "decided"
    if out["checks"]["selfie_vs_portrait"]["decision"] == "match" and (out["document"]["mrz"] or {}).get("valid"):
        assert out["decision"] == "pass", out["reasons"]
    stored = client.get(f"/v1/kyc/sessions/{sess['session_id']}", headers=key).json()
    assert stored["decision"] == out["decision"] and stored["reasons"] == out["reasons"]
    assert "document" not in stored  # the document's contents are returned once, never stored
    # decided once; the liveness proof was used once
    assert_problem(client.post(f"/v1/kyc/sessions/{sess['session_id']}/submit", headers=key,
                               files={"document": ("d.jpg", document, "image/jpeg")}), 409, "kyc_session_closed")
    g = client.app.state.clearsight.gallery
    consumed = g.audit_entries(action="liveness.consume", target=sess["liveness_session_id"])
    assert [e.outcome for e in consumed] == ["passed"] and consumed[0].details["for"] == sess["session_id"]
    (decision,) = g.audit_entries(action="kyc.decision", target=sess["session_id"])
    assert decision.outcome == out["decision"] and decision.purpose == "kyc"


def test_kyc_session_without_a_challenge_is_at_best_review(service, key, clip, document, assert_problem):
    client, _ = service
    sess = client.post("/v1/kyc/sessions", json={"liveness": False}, headers=key).json()
    assert sess["liveness"] is None
    selfie = _jpeg(clip[FIRST])
    r = client.post(f"/v1/kyc/sessions/{sess['session_id']}/submit", headers=key,
                    files={"document": ("d.jpg", document, "image/jpeg"), "selfie": ("s.jpg", selfie, "image/jpeg")})
    assert r.status_code == 200, r.text
    assert r.json()["decision"] in ("review", "fail") and any("liveness" in x or "live" in x for x in r.json()["reasons"])
    assert_problem(client.get("/v1/kyc/sessions/nope", headers=key), 404, "kyc_session_not_found")
    _, keys = service  # another key's session is as unknown as a missing one
    assert_problem(client.get(f"/v1/kyc/sessions/{sess['session_id']}", headers=keys["admin"]), 404,
                   "kyc_session_not_found")


def test_login_with_liveness_and_lock_out_kept_in_the_database(service, key, clip, assert_problem):
    client, _ = service
    state = client.app.state.clearsight
    photos = [cv2.cvtColor(clip[i], cv2.COLOR_BGR2RGB) for i in (90, 150, PORTRAIT_FRAME)]  # none the challenge sees
    ident = state.gallery.enrol_new_identity("singer-1", "The Singer", photos, actor="test", purpose="login").identity
    live = client.post("/v1/liveness/sessions", json={"steps": 1}, headers=key).json()
    _run_challenge(client, key, live, clip)
    r = client.post("/v1/login", json={"external_id": "singer-1", "liveness_session_id": live["session_id"]}, headers=key)
    assert r.status_code == 200, r.text
    assert r.json()["success"] is True, str(r.json())
    assert r.json()["similarity"] >= r.json()["threshold"]
    # the proof was single-use: the same session again is a failed attempt
    again = client.post("/v1/login", json={"identity_id": ident.id, "liveness_session_id": live["session_id"]},
                        headers=key).json()
    assert again["success"] is False and again["failures"] == 1 and "already used" in again["reasons"][0]
    for i in range(2, 6):
        out = client.post("/v1/login", json={"identity_id": ident.id, "liveness_session_id": f"bogus-{i}"},
                          headers=key).json()
        assert out["success"] is False and out["failures"] == i
    assert out["locked"] is True
    assert_problem(client.post("/v1/login", json={"identity_id": ident.id, "liveness_session_id": "x"}, headers=key),
                   423, "login_locked")
    # another process (a second store on the same database) sees the lock
    from clearsight.apps.kyc import KycStore

    other = KycStore.open(state.settings)
    try:
        assert other.lock_state(ident.id).locked
    finally:
        other.close()
    outcomes = [e.outcome for e in state.gallery.audit_entries(action="login", target=ident.id)]
    assert outcomes == ["ok", "failed", "failed", "failed", "failed", "locked_out", "refused"]
    assert_problem(client.post("/v1/login", json={"identity_id": "nobody", "liveness_session_id": "x"}, headers=key), 404)
    assert client.post("/v1/login", json={"liveness_session_id": "x"}, headers=key).status_code == 422
