"""Liveness over HTTP on real frames: the passive score of a photo, and a challenge
session fed JPEG frames of a real clip (face_recognition's short_hamilton_clip.mp4:
the singer turns to his right). Bad input is a typed problem
and loses nothing; sessions belong to their key and are single-use proofs."""

from __future__ import annotations

import cv2
import pytest

from tests.conftest import data_path

pytestmark = pytest.mark.integration

FIRST, LAST = 98, 116


@pytest.fixture(scope="module")
def jpegs():
    cap = cv2.VideoCapture(str(data_path("faces", "face_recognition_examples", "examples", "short_hamilton_clip.mp4")))
    out = []
    for i in range(LAST + 1):
        ok, bgr = cap.read()
        assert ok
        if i >= FIRST:
            out.append(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes())
    cap.release()
    return out


@pytest.fixture(scope="module")
def keys(service):
    client, _ = service
    store = client.app.state.clearsight.keys
    return [{"Authorization": f"Bearer {store.create('client', f'live {i}', rate_limit=100_000)[1]}"} for i in range(2)]


def _session(client, headers, order=None):
    n = len(order) if order else 2
    r = client.post("/v1/liveness/sessions", json={"steps": n}, headers=headers)
    assert r.status_code == 201, r.text
    s = r.json()
    assert len(s["steps"]) == n and s["status"] == "calibrating" and s["nonce"] and s["expires"]
    if order is not None:  # the service draws the order; the test sets the one the clip shows
        from clearsight.face.challenge import ActiveChallenge

        store = client.app.state.clearsight.liveness_sessions
        owner = next(k for k in store._items if k[1] == s["session_id"])[0]
        sess = store.get(owner, s["session_id"]).value
        old = sess.challenge
        sess.challenge = ActiveChallenge(tuple(order), old.nonce, old.issued_at, old.config)
    return s


def _post(client, headers, sid, jpeg, nonce):
    return client.post(f"/v1/liveness/sessions/{sid}/frames", files={"image": ("f.jpg", jpeg, "image/jpeg")},
                       data={"nonce": nonce}, headers=headers)


def test_passive_score_of_a_photo(service, keys):
    client, _ = service
    root = data_path("liveness", "antispoof_samples", "images")
    scores = {}
    for name in ("image_F1.jpg", "image_T1.jpg"):
        r = client.post("/v1/liveness", files={"image": (name, (root / name).read_bytes())}, headers=keys[0])
        assert r.status_code == 200, r.text
        (face,) = r.json()["faces"]
        assert face["method"].startswith("trained") and set(face["models"]) >= {"antispoof", "liveness"}
        scores[name] = face["live_score"]
    assert scores["image_F1.jpg"] < 0.5 <= scores["image_T1.jpg"]  # a printed photo, a live face


def test_session_flow_passes_on_the_clip_and_a_replay_against_another_order_fails(service, keys, jpegs, assert_problem):
    client, _ = service
    h = keys[0]
    s = _session(client, h, ("turn_right",))
    statuses = []
    for jpeg in jpegs:
        r = _post(client, h, s["session_id"], jpeg, s["nonce"])
        assert r.status_code == 200, r.text
        statuses.append(r.json()["status"])
        if r.json()["status"] in ("passed", "failed"):
            break
    assert statuses[0] == "calibrating" and "in_progress" in statuses
    result = client.get(f"/v1/liveness/sessions/{s['session_id']}", headers=h).json()
    assert result["status"] == "passed", result["reasons"]
    assert [st["done"] for st in result["steps"]] == [True] and result["passive_live_score"] >= 0.5
    # the session is a single-use proof for the flows that need a live person
    from clearsight.face.liveness_session import LivenessNotPassedError

    store = client.app.state.clearsight.liveness_sessions
    owner = next(k for k in store._items if k[1] == s["session_id"])[0]
    proof = store.get(owner, s["session_id"]).value.consume()
    assert proof["reference_frame"] is not None and proof["steps"] == ["turn_right"]
    with pytest.raises(LivenessNotPassedError):
        store.get(owner, s["session_id"]).value.consume()

    # the same frames replayed into a new session with another order: rejected with a reason
    s2 = _session(client, h, ("turn_left",))
    s3 = _session(client, h, ("nod", "turn_left"))
    for sess in (s2, s3):
        for jpeg in jpegs:
            out = _post(client, h, sess["session_id"], jpeg, sess["nonce"]).json()
            if out["status"] in ("passed", "failed"):
                break
        assert out["status"] != "passed"
    out = client.get(f"/v1/liveness/sessions/{s3['session_id']}", headers=h).json()
    assert out["status"] == "failed" and out["reasons"]
    # the first session's nonce in another session fails it
    s4 = _session(client, h)
    out = _post(client, h, s4["session_id"], jpegs[0], s["nonce"]).json()
    assert out["status"] == "failed" and "nonce" in out["reasons"][0]
    for sess in (s, s2, s3, s4):
        assert client.delete(f"/v1/liveness/sessions/{sess['session_id']}", headers=h).status_code == 204


def test_bad_input_and_unknown_sessions(service, keys, jpegs, assert_problem):
    client, _ = service
    h, other = keys
    s = _session(client, h)
    assert_problem(_post(client, h, s["session_id"], b"\xff\xd8\xff\xe0 not a jpeg", s["nonce"]), 422, "image_decode_error")
    # nothing was lost: the session still takes frames
    r = _post(client, h, s["session_id"], jpegs[0], s["nonce"])
    assert r.status_code == 200 and r.json()["frames"] == 1
    assert_problem(client.get("/v1/liveness/sessions/nope", headers=h), 404, "liveness_session_not_found")
    assert_problem(_post(client, h, "nope", jpegs[0], "x"), 404, "liveness_session_not_found")
    # another key's session is as unknown as a missing one
    assert_problem(client.get(f"/v1/liveness/sessions/{s['session_id']}", headers=other), 404, "liveness_session_not_found")
    r = client.post(f"/v1/liveness/sessions/{s['session_id']}/frames", files={"image": ("f.jpg", jpegs[0])}, headers=h)
    assert r.status_code == 422  # no nonce
    assert client.post("/v1/liveness/sessions", json={"steps": 9}, headers=h).status_code == 422
    assert client.delete(f"/v1/liveness/sessions/{s['session_id']}", headers=h).status_code == 204
