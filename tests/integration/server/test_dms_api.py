"""The driver-monitoring API on real in-car frames (scenarios composed from the
drowsiness_yawn_eyes set, see apps/dms/scenarios.py): alerts fire at the frames'
timestamps through HTTP exactly as in-process, bad input is a typed 4xx problem,
and sessions belong to their key."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from clearsight.io import encode_jpeg

from ...conftest import data_path

pytestmark = pytest.mark.integration

FPS = 15


@pytest.fixture(scope="module")
def bank():
    from clearsight.apps.dms.scenarios import FrameBank

    return FrameBank.from_dataset(data_path("dms", "drowsiness_yawn_eyes"))


@pytest.fixture(scope="module")
def fast_keys(service):
    """Keys whose rate limit admits a 15 fps stream (the role defaults are for people)."""
    client, _ = service
    store = client.app.state.clearsight.keys
    return [{"Authorization": f"Bearer {store.create('client', f'dms {i}', rate_limit=100_000)[1]}"} for i in range(2)]


def _jpeg(rgb: np.ndarray) -> bytes:
    return encode_jpeg(rgb, quality=85)


def _frame(client, headers, sid, rgb, t, **extra):
    data = {"t": str(t), **{k: str(v) for k, v in extra.items()}}
    return client.post(f"/v1/dms/sessions/{sid}/frames", files={"image": ("f.jpg", _jpeg(rgb), "image/jpeg")}, data=data, headers=headers)


def _new_session(client, headers, **thresholds) -> str:
    r = client.post("/v1/dms/sessions", json={"thresholds": thresholds}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_closed_eyes_through_the_api_raise_microsleep_at_the_right_time(service, fast_keys, bank):
    from clearsight.apps.dms.scenarios import CALIB, Scenario, expected_alerts

    client, _ = service
    h = fast_keys[0]
    sc = Scenario("closed_1.5s_api", (("road", CALIB), ("closed", 1.5), ("road", 1.0)))
    (due,) = expected_alerts(sc, FPS)
    sid = _new_session(client, h)
    events, states = [], []
    for rgb, t, truth in bank.frames_of(sc, FPS):
        r = _frame(client, h, sid, rgb, t)
        assert r.status_code == 200, r.text
        body = r.json()
        events += body["events"]
        states.append((truth, body["state"]["eyes_closed"], body["state"]["calibrated"]))
    scripted = [e for e in events if e["type"] in {"dms.microsleep", "dms.distracted", "dms.absent", "dms.drowsy", "dms.yawn"}]
    assert [(e["type"], e["data"]["level"]) for e in scripted] == [("dms.microsleep", "microsleep")], events
    assert due.time - 1e-6 <= scripted[0]["time"] <= due.time + 0.1 + 1.0 / FPS
    # the state follows the script: calibrated before the closure, eyes read closed during it
    closed = [c for truth, c, _ in states if truth == "closed"]
    assert sum(bool(c) for c in closed) >= 0.8 * len(closed)
    assert all(cal for truth, _, cal in states if truth == "closed")

    s = client.get(f"/v1/dms/sessions/{sid}", headers=h).json()
    assert s["frames"] == len(states) and s["event_counts"].get("dms.microsleep") == 1
    assert s["last"]["state"]["eyes_closed"] is False and s["calibration"]["done"] is True

    # the overlay comes back as a JPEG of the same size, drawn over the frame
    last_t = float(sc.times(FPS)[-1])
    r = _frame(client, h, sid, bank.frames["road"], last_t + 0.1, annotate="true")
    url = r.json()["annotated"]
    assert url.startswith("data:image/jpeg;base64,")
    img = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == bank.frames["road"].shape
    assert np.abs(img[:, :, ::-1].astype(int) - bank.frames["road"]).max() > 100  # text and eye contours drawn

    assert client.delete(f"/v1/dms/sessions/{sid}", headers=h).status_code == 204
    assert client.get(f"/v1/dms/sessions/{sid}", headers=h).status_code == 404


def test_threshold_overrides_change_when_the_alert_fires(service, fast_keys, bank):
    from clearsight.apps.dms.scenarios import CALIB, Scenario

    client, _ = service
    h = fast_keys[0]
    sc = Scenario("closed_short", (("road", CALIB), ("closed", 1.0)))
    sid = _new_session(client, h, microsleep_s=0.6)
    events = []
    for rgb, t, _ in bank.frames_of(sc, FPS):
        events += _frame(client, h, sid, rgb, t).json()["events"]
    client.delete(f"/v1/dms/sessions/{sid}", headers=h)
    micro = [e for e in events if e["type"] == "dms.microsleep"]
    # default 1.0 s would not fire inside a 1.0 s closure; 0.6 s fires at 6.6 s
    assert len(micro) == 1 and 6.6 - 1e-6 <= micro[0]["time"] <= 6.6 + 0.1 + 1.0 / FPS, events


def test_bad_frames_and_timestamps_are_problems(service, fast_keys, bank, assert_problem):
    client, _ = service
    h = fast_keys[0]
    sid = _new_session(client, h)
    road = bank.frames["road"]
    assert _frame(client, h, sid, road, 5.0).status_code == 200
    assert_problem(_frame(client, h, sid, road, 4.0), 422, "dms_bad_frame")  # backwards
    assert_problem(_frame(client, h, sid, road, -1), 422, "invalid_request")
    assert_problem(_frame(client, h, sid, road, "soon"), 422, "invalid_request")
    r = client.post(f"/v1/dms/sessions/{sid}/frames", files={"image": ("f.jpg", b"not an image at all", "image/jpeg")}, data={"t": "6"}, headers=h)
    assert_problem(r, 422)
    assert r.json()["code"].startswith(("image_", "unsupported_image"))
    r = client.post(f"/v1/dms/sessions/{sid}/frames", data={"t": "6"}, headers=h)
    assert_problem(r, 422, "image_required")
    assert_problem(client.post(f"/v1/dms/sessions/{sid}/frames", content=b"x", headers={**h, "Content-Type": "text/plain"}), 415)
    # nothing was lost: the session still runs and accepts the next good frame
    r = _frame(client, h, sid, road, 6.0)
    assert r.status_code == 200 and r.json()["frame"] == 2
    assert_problem(client.post("/v1/dms/sessions", json={"thresholds": {"no_such": 1}}, headers=h), 422, "invalid_input")
    assert_problem(client.post("/v1/dms/sessions", json={"thresholds": {"long_glance_s": "long"}}, headers=h), 422, "invalid_request")
    assert_problem(client.post("/v1/dms/sessions", json={"thresholds": {"long_glance_s": -3}}, headers=h), 422, "invalid_input")
    assert_problem(_frame(client, h, "nope", road, 1.0), 404, "dms_session_not_found")
    client.delete(f"/v1/dms/sessions/{sid}", headers=h)


def test_roles_and_ownership(service, fast_keys, bank, assert_problem):
    client, keys = service
    assert_problem(client.post("/v1/dms/sessions", json={}), 401, "unauthorized")
    assert_problem(client.post("/v1/dms/sessions", json={}, headers=keys["auditor"]), 403, "forbidden")
    for role in ("admin", "operator", "client"):
        r = client.post("/v1/dms/sessions", headers=keys[role])
        assert r.status_code == 201, (role, r.text)
        client.delete(f"/v1/dms/sessions/{r.json()['id']}", headers=keys[role])
    # a session is invisible to every other key
    a, b = fast_keys
    sid = _new_session(client, a)
    assert_problem(client.get(f"/v1/dms/sessions/{sid}", headers=b), 404, "dms_session_not_found")
    assert_problem(_frame(client, b, sid, bank.frames["road"], 0.0), 404, "dms_session_not_found")
    assert_problem(client.delete(f"/v1/dms/sessions/{sid}", headers=b), 404)
    assert client.get(f"/v1/dms/sessions/{sid}", headers=a).status_code == 200
    client.delete(f"/v1/dms/sessions/{sid}", headers=a)


def test_sessions_are_bounded_per_key(service, fast_keys, assert_problem):
    client, _ = service
    MAX_SESSIONS_PER_KEY = client.app.state.clearsight.dms_sessions.max_per_owner
    h = fast_keys[1]
    ids = [_new_session(client, h) for _ in range(MAX_SESSIONS_PER_KEY)]
    assert_problem(client.post("/v1/dms/sessions", headers=h), 409, "dms_session_limit")
    assert client.post("/v1/dms/sessions", headers=fast_keys[0]).status_code == 201  # others unaffected
    client.delete(f"/v1/dms/sessions/{ids[0]}", headers=h)
    ids[0] = _new_session(client, h)
    for sid in ids:
        assert client.delete(f"/v1/dms/sessions/{sid}", headers=h).status_code == 204


def test_idle_sessions_expire(service, fast_keys, monkeypatch, assert_problem):
    client, _ = service
    h = fast_keys[0]
    sid = _new_session(client, h)
    monkeypatch.setattr(client.app.state.clearsight.dms_sessions, "idle_s", -1.0)  # everything is now idle
    assert_problem(client.get(f"/v1/dms/sessions/{sid}", headers=h), 404, "dms_session_not_found")


def test_analyze_a_video_file(service, fast_keys, bank, tmp_path, assert_problem):
    from clearsight.apps.dms.scenarios import CALIB, Scenario, write_video

    client, _ = service
    h = fast_keys[0]
    sc = Scenario("closed_1.5s_video", (("road", CALIB), ("closed", 1.5), ("road", 0.5)))
    video = write_video(bank, sc, FPS, tmp_path / "drive.mp4").read_bytes()
    r = client.post("/v1/dms/analyse", files={"video": ("drive.mp4", video, "video/mp4")}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["frames"] == len(sc.times(FPS)) and not body["truncated"]
    assert abs(body["fps"] - FPS) < 0.01
    micro = [e for e in body["events"] if e["type"] == "dms.microsleep"]
    assert len(micro) == 1 and 7.0 - 1e-3 <= micro[0]["time"] <= 7.0 + 0.1 + 1.0 / FPS, body["events"]
    assert body["summary"]["event_counts"] == {"dms.microsleep": 1}
    closed_rows = [row for row in body["timeline"] if CALIB + 0.1 <= row["t"] < CALIB + 1.4]
    assert all(row["eyes_closed"] for row in closed_rows)

    # bounded: only max_seconds are analysed, and the answer says so
    r = client.post("/v1/dms/analyse", files={"video": ("drive.mp4", video, "video/mp4")}, data={"max_seconds": "1"}, headers=h)
    assert r.status_code == 200 and r.json()["truncated"] is True and r.json()["duration_s"] <= 1.0
    assert_problem(client.post("/v1/dms/analyse", files={"video": ("x.mp4", video, "video/mp4")}, data={"max_seconds": "600"}, headers=h), 422)
    garbage = assert_problem(client.post("/v1/dms/analyse", files={"video": ("x.mp4", b"\x00" * 2048, "video/mp4")}, headers=h), 422)
    # the error names the upload, never where the server kept it
    assert "/tmp" not in garbage["detail"] and "upload.video" not in garbage["detail"] and "cs-dms" not in garbage["detail"]
    assert_problem(client.post("/v1/dms/analyse", files={"video": ("x.mp4", video, "video/mp4")}, headers=service[1]["auditor"]), 403)
