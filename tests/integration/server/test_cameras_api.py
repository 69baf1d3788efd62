"""Cameras, live view, events and rules over HTTP against a real uvicorn server (the
streams never end, which the in-process TestClient cannot read): a real camera on
the Hamilton clip with MediaPipe, real MJPEG frames, real events in the store and
on the SSE stream, rules that fire, roles, persistence across an app restart."""

from __future__ import annotations

import json
from pathlib import Path
import time

import cv2
import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from clearsight.config import Settings
from clearsight.server import create_app
from clearsight.settings import RemoteAccess, ServerSettings
from clearsight.stream.store import CameraStore
from tests.conftest import SHARED_DATA, data_path
from tests.live_server import running_app

pytestmark = pytest.mark.integration

CLIP = ("faces", "face_recognition_examples", "examples", "short_hamilton_clip.mp4")
REPO = Path(__file__).resolve().parents[3]


def _server_settings(**remote) -> ServerSettings:
    """The test data is the service's media root: admins may use its clips as cameras."""
    return ServerSettings(warmup=False, remote=RemoteAccess(media_roots=[SHARED_DATA], **remote))


@pytest.fixture(scope="module")
def live_service(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("cameras"), models_dir=Settings().model_dir)
    app = create_app(settings, _server_settings())
    keys = {}
    for role in ("admin", "operator", "auditor", "client"):
        _, plain = app.state.clearsight.keys.create(role, f"test {role}")
        keys[role] = {"Authorization": f"Bearer {plain}"}
    with running_app(app, start_timeout=30) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client, keys, app, settings
    assert not app.state.clearsight.cameras_open, "shutdown must stop the cameras and close the hub"


def _problem(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    if code:
        assert body["code"] == code, body
    return body


def _first_sse_event(client: httpx.Client, url: str, wanted: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    etype = None
    with client.stream("GET", url) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("event: "):
                etype = line[7:]
            elif line.startswith("data: ") and etype == wanted:
                return json.loads(line[6:])
            assert time.monotonic() < deadline, f"no {wanted} event on the stream"
    raise AssertionError("the event stream ended")


def test_camera_end_to_end(live_service):
    c, keys, app, _ = live_service
    clip = data_path(*CLIP)
    admin = keys["admin"]

    rules = {"rules": [{"name": "any-face", "when": {"type": "face.seen"}, "severity": "info"}]}
    r = c.put("/v1/rules", json=rules, headers=keys["operator"])
    assert r.status_code == 200, r.text
    assert c.get("/v1/rules", headers=admin).json()["rules"][0]["name"] == "any-face"

    cam = {"name": "hamilton", "source": str(clip), "source_options": {"realtime": True}, "detect": {"every_n": 2},
           "zones": [{"name": "left", "polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], "normalized": True}]}
    r = c.post("/v1/cameras", json=cam, params={"start": "true"}, headers=admin)
    assert r.status_code == 201, r.text
    # saved as an absolute, resolved path (the data may sit behind a symlink)
    assert Path(r.json()["config"]["source"]) == clip.resolve()
    _problem(c.post("/v1/cameras", json=cam, headers=admin), 409, "camera_exists")

    ticket = c.post("/v1/stream-tickets", headers=keys["operator"]).json()["ticket"]
    seen = _first_sse_event(c, f"/v1/events/stream?ticket={ticket}&camera=hamilton", "face.seen")
    assert seen["camera"] == "hamilton" and seen["track_ids"] and seen["snapshot_jpeg_b64"]

    # a real JPEG frame of the annotated output, from the MJPEG stream (a ticket opens one stream)
    ticket = c.post("/v1/stream-tickets", headers=keys["operator"]).json()["ticket"]
    buf = b""
    with c.stream("GET", f"/v1/cameras/hamilton/live.mjpeg?ticket={ticket}") as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("multipart/x-mixed-replace")
        for chunk in resp.iter_bytes():
            buf += chunk
            if buf.count(b"--frame") >= 2:
                break
    head, _, rest = buf.partition(b"\r\n\r\n")
    assert b"Content-Type: image/jpeg" in head
    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    img = cv2.imdecode(np.frombuffer(rest[:length], np.uint8), cv2.IMREAD_COLOR)
    assert img is not None and img.shape[2] == 3 and img.shape[0] > 100

    # stored events, newest first, with a snapshot that is a real JPEG; the rule fired
    deadline = time.monotonic() + 20
    while True:
        items = c.get("/v1/events", params={"camera": "hamilton", "limit": 50}, headers=keys["auditor"]).json()["items"]
        alerts = [e for e in items if e["type"] == "alert"]
        if alerts or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert any(e["type"] == "face.seen" for e in items)
    assert alerts and alerts[0]["data"]["rule"] == "any-face" and alerts[0]["data"]["trigger"] == "face.seen"
    times = [e["time"] for e in items]
    assert times == sorted(times, reverse=True)
    only = c.get("/v1/events", params={"type": "face.*", "limit": 5}, headers=admin).json()["items"]
    assert only and all(e["type"] == "face.seen" for e in only)
    with_snap = next(e for e in items if e["has_snapshot"])
    snap = c.get(f"/v1/events/{with_snap['id']}/snapshot", headers=keys["auditor"])
    assert snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(snap.content, np.uint8), cv2.IMREAD_COLOR) is not None
    _problem(c.get("/v1/events/999999/snapshot", headers=admin), 404, "snapshot_not_found")

    status = c.get("/v1/cameras/hamilton", headers=admin).json()["status"]
    assert status["frames"] > 0 and status["events"].get("face.seen", 0) > 0 and status["error"] is None

    # stop, start, delete: deleting a running camera stops its thread
    assert c.post("/v1/cameras/hamilton/stop", headers=admin).json()["status"]["running"] is False
    assert c.post("/v1/cameras/hamilton/start", headers=admin).json()["status"]["running"] is True
    pipeline = app.state.clearsight.cameras.manager.pipeline("hamilton")
    assert c.delete("/v1/cameras/hamilton", headers=keys["operator"]).status_code == 204
    assert pipeline.running is False
    _problem(c.get("/v1/cameras/hamilton", headers=admin), 404, "camera_not_found")
    _problem(c.delete("/v1/cameras/hamilton", headers=admin), 404, "camera_not_found")
    assert c.get("/v1/cameras", headers=admin).json() == []


def test_bad_rules_are_422_with_the_field_and_keep_the_old_ones(live_service):
    c, keys, _, _ = live_service
    good = {"rules": [{"name": "crowd", "when": {"type": "face.seen", "count": {"at_least": 3, "within_s": 10}}}]}
    assert c.put("/v1/rules", json=good, headers=keys["admin"]).status_code == 200
    bad = {"rules": [{"name": "crowd", "when": {"type": "face.seen", "count": {"at_least": 0, "within_s": 10}}}]}
    body = _problem(c.put("/v1/rules", json=bad, headers=keys["admin"]), 422)
    assert ["body", "rules", "0", "when", "count", "at_least"] in [e["loc"] for e in body["errors"]]
    bad_op = {"rules": [{"name": "x", "when": {"type": "alert", "fields": {"score": {"bigger": 1}}}}]}
    assert "bigger" in _problem(c.put("/v1/rules", json=bad_op, headers=keys["admin"]), 422)["detail"]
    dup = {"rules": [{"name": "a", "when": {"type": "x"}}, {"name": "a", "when": {"type": "y"}}]}
    assert "unique" in _problem(c.put("/v1/rules", json=dup, headers=keys["admin"]), 422)["detail"]
    after = c.get("/v1/rules", headers=keys["operator"]).json()["rules"]
    assert [r["name"] for r in after] == ["crowd"] and after[0]["when"]["count"]["at_least"] == 3


def test_rules_on_event_types_nobody_emits_are_refused_with_the_known_ones(live_service):
    c, keys, _, _ = live_service
    admin = keys["admin"]
    before = c.get("/v1/rules", headers=admin).json()
    types = {t["type"]: t for t in c.get("/v1/rules/event-types", headers=keys["operator"]).json()}
    assert {"face.seen", "track.end", "zone.enter", "line.cross", "face.identified", "watchlist.match"} <= set(types)
    assert types["watchlist.match"]["source"] == "watchlist" and types["zone.enter"]["source"] == "engine"
    for bad in ("vehicle.stoped", "nosuch.*"):
        body = _problem(c.put("/v1/rules", json={"rules": [{"name": "r", "when": {"type": bad}}]}, headers=admin),
                        422, "invalid_rule")
        assert bad in body["detail"] and "zone.enter" in body["detail"]  # the known types are listed
    assert c.get("/v1/rules", headers=admin).json() == before  # refused: the old rules stay
    ok = {"rules": [{"name": "zones", "when": {"type": "zone.*"}}, {"name": "lines", "when": {"type": "line.cross"}}]}
    r = c.put("/v1/rules", json=ok, headers=admin)
    assert r.status_code == 200, r.text
    warned = " ".join(r.json()["warnings"])
    assert "line.cross" in warned  # exists, but no camera here has a line
    assert c.put("/v1/rules", json=before, headers=admin).status_code == 200


def test_bad_cameras_are_refused_before_anything_runs(live_service, tmp_path):
    c, keys, _, settings = live_service
    admin = keys["admin"]
    _problem(c.post("/v1/cameras", json={"name": "nofile", "source": str(tmp_path / "missing.mp4")}, headers=admin),
             403, "source_not_allowed")
    clip = str(data_path(*CLIP))
    escape = {"name": "escape", "source": clip, "output": {"path": "../../../../tmp/x.mp4"}}
    _problem(c.post("/v1/cameras", json=escape, headers=admin), 422, "invalid_camera_source")
    body = _problem(c.post("/v1/cameras", json={"name": "bad zone", "source": clip}, headers=admin), 422)
    assert body["errors"][0]["loc"][-1] == "name"
    zone = {"name": "z", "source": clip, "zones": [{"name": "a", "polygon": [[0, 0], [2, 0], [1, 1]], "normalized": True}]}
    _problem(c.post("/v1/cameras", json=zone, headers=admin), 422)
    ok = {"name": "idle", "source": clip}
    assert c.post("/v1/cameras", json=ok, headers=admin).status_code == 201
    _problem(c.put("/v1/cameras/idle", json={**ok, "name": "other"}, headers=admin), 422)
    r = c.put("/v1/cameras/idle", json={**ok, "detect": {"every_n": 5}}, headers=admin)
    assert r.status_code == 200 and r.json()["config"]["detect"]["every_n"] == 5
    _problem(c.get("/v1/cameras/idle/live.mjpeg", headers=admin), 409, "camera_not_running")
    # saved: a second app on the same data dir has it back, with its new settings
    store = CameraStore.open(settings)
    assert store.get("idle").config["detect"]["every_n"] == 5
    store.close()
    app2 = create_app(settings, _server_settings())
    _, plain = app2.state.clearsight.keys.create("operator", "second")
    with TestClient(app2) as c2:
        cams = c2.get("/v1/cameras", headers={"Authorization": f"Bearer {plain}"}).json()
        assert [x["config"]["name"] for x in cams] == ["idle"] and cams[0]["config"]["detect"]["every_n"] == 5
        assert cams[0]["status"]["running"] is False
    assert c.delete("/v1/cameras/idle", headers=admin).status_code == 204


def test_roles_and_tickets(live_service):
    c, keys, _, _ = live_service
    clip = str(data_path(*CLIP))
    # clients: nothing here; auditors: events only; operators and admins: everything
    for method, url, body in [("GET", "/v1/cameras", None), ("POST", "/v1/cameras", {"name": "r", "source": clip}),
                              ("GET", "/v1/events", None), ("GET", "/v1/rules", None), ("PUT", "/v1/rules", {"rules": []})]:
        _problem(c.request(method, url, json=body, headers=keys["client"]), 403, "forbidden")
        _problem(c.request(method, url, json=body), 401, "unauthorized")
    assert c.get("/v1/events", headers=keys["auditor"]).status_code == 200
    for method, url, body in [("GET", "/v1/cameras", None), ("POST", "/v1/cameras", {"name": "r", "source": clip}),
                              ("PUT", "/v1/rules", {"rules": []}), ("POST", "/v1/cameras/r/start", None)]:
        _problem(c.request(method, url, json=body, headers=keys["auditor"]), 403, "forbidden")
    _problem(c.post("/v1/cameras", json={"name": "r", "source": clip}, headers=keys["operator"]), 403,
             "source_not_allowed")  # local files are for admins
    assert c.post("/v1/cameras", json={"name": "r", "source": clip}, headers=keys["admin"]).status_code == 201

    # streams: the key in a header, or a ticket that carries the role (never the key itself)
    _problem(c.get("/v1/cameras/r/live.mjpeg"), 401, "unauthorized")
    _problem(c.get("/v1/events/stream"), 401, "unauthorized")
    _problem(c.get("/v1/events/stream?ticket=abc.123.def"), 401, "unauthorized")
    client_ticket = c.post("/v1/stream-tickets", headers=keys["client"]).json()["ticket"]
    _problem(c.get(f"/v1/events/stream?ticket={client_ticket}"), 403, "forbidden")
    auditor_ticket = c.post("/v1/stream-tickets", headers=keys["auditor"]).json()["ticket"]
    _problem(c.get(f"/v1/cameras/r/live.mjpeg?ticket={auditor_ticket}"), 403, "forbidden")
    auditor_ticket = c.post("/v1/stream-tickets", headers=keys["auditor"]).json()["ticket"]
    key_id, exp, nonce, sig = auditor_ticket.split(".")
    _problem(c.get(f"/v1/events/stream?ticket={key_id}.{int(exp) + 1}.{nonce}.{sig}"), 401, "unauthorized")
    with c.stream("GET", f"/v1/events/stream?ticket={auditor_ticket}") as resp:
        assert resp.status_code == 200
        assert next(resp.iter_lines()) == ": connected"
    assert c.delete("/v1/cameras/r", headers=keys["operator"]).status_code == 204


def test_revoking_a_key_closes_its_live_view(live_service):
    c, keys, _, _ = live_service
    clip = str(data_path(*CLIP))
    cam = {"name": "looping", "source": clip, "source_options": {"realtime": True, "loop": True}, "detect": {"every_n": 3}}
    assert c.post("/v1/cameras", json=cam, params={"start": "true"}, headers=keys["admin"]).status_code == 201
    r = c.post("/v1/keys", json={"role": "operator", "name": "viewer"}, headers=keys["admin"])
    viewer_id, viewer = r.json()["id"], {"Authorization": f"Bearer {r.json()['key']}"}
    ticket = c.post("/v1/stream-tickets", headers=viewer).json()["ticket"]
    try:
        for url, headers in ((f"/v1/cameras/looping/live.mjpeg?ticket={ticket}", {}), ("/v1/cameras/looping/live.mjpeg", viewer)):
            with c.stream("GET", url, headers=headers) as resp:
                assert resp.status_code == 200
                chunks = resp.iter_bytes()
                assert b"--frame" in next(chunks)
                if not headers:
                    continue  # the ticket's key stays valid for the next round
                assert c.delete(f"/v1/keys/{viewer_id}", headers=keys["admin"]).status_code == 200
                deadline = time.monotonic() + 30
                for _ in chunks:  # a looping camera never ends its stream by itself
                    assert time.monotonic() < deadline, "the live view stayed open after its key was revoked"
        _problem(c.get("/v1/cameras/looping/live.mjpeg", headers=viewer), 401, "unauthorized")
    finally:
        assert c.delete("/v1/cameras/looping", headers=keys["admin"]).status_code == 204


def test_api_users_cannot_reach_what_the_allow_list_does_not_name(live_service, tmp_path):
    """Issue 19 item 2: camera sources and sink targets go through `server.remote`; local
    files only under the media roots, for admins; refusals say nothing of the filesystem."""
    c, keys, _, _ = live_service
    admin, operator = keys["admin"], keys["operator"]
    for source in ("rtsp://127.0.0.1:8554/x", "http://localhost:8000/v1/healthz", "tcp://127.0.0.1:22",
                   "http://169.254.169.254/latest/meta-data", "webcam:0", "0"):
        _problem(c.post("/v1/cameras", json={"name": "ssrf", "source": source}, headers=admin), 403, "source_not_allowed")
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"not a video")
    details = {_problem(c.post("/v1/cameras", json={"name": "probe", "source": p}, headers=admin), 403,
                        "source_not_allowed")["detail"]
               for p in (str(secret), "/etc/passwd", "/no/such/file.mp4", "../../../../etc/hostname")}
    assert len(details) == 1 and "secret" not in next(iter(details))  # the same words, exists or not
    clip = str(data_path(*CLIP))
    for sink in ({"type": "webhook", "url": "http://127.0.0.1:9000/x"}, {"type": "mqtt", "host": "127.0.0.1"},
                 {"type": "webhook", "url": "http://[::1]:9000/x"}):
        _problem(c.post("/v1/cameras", json={"name": "out", "source": clip, "sinks": [sink]}, headers=admin), 403,
                 "source_not_allowed")
    _problem(c.post("/v1/cameras", json={"name": "out", "source": clip, "sinks": [
        {"type": "webhook", "url": "https://203.0.113.9/x", "headers": {"Host": "internal"}}]}, headers=admin), 422)
    r = c.post("/v1/cameras", json={"name": "rtsp", "source": "rtsp://192.168.1.20/s"}, headers=operator)
    assert r.status_code == 201, r.text  # a camera on the private network: allowed, not started
    assert c.delete("/v1/cameras/rtsp", headers=operator).status_code == 204


def test_every_example_camera_loads_in_the_service(tmp_path):
    """Issue 19 item 14: one camera schema for the CLI and the service. `{type: store}` is the
    service's own event store; the lobby example's loopback webhook and broker need an
    allow-list that names them, which an administrator sets."""
    import yaml

    from clearsight.settings import AllowRule
    from clearsight.stream.config import load_camera

    loopback = AllowRule(schemes=["http", "https", "mqtt"], networks=["127.0.0.0/8"], exclude=[])
    settings = Settings(data_dir=tmp_path / "d", models_dir=Settings().model_dir)
    app = create_app(settings, _server_settings(event_targets=[loopback]))
    _, plain = app.state.clearsight.keys.create("admin", "examples")
    examples = sorted((REPO / "examples" / "cameras").glob("*.yaml"))
    assert len(examples) >= 4
    with TestClient(app) as c:
        for path in examples:
            cfg = load_camera(path)  # the CLI's loader: the file is valid as it is
            body = yaml.safe_load(path.read_text())  # what a user posts: the file itself ...
            body["source"] = str(cfg.source)  # ... with its clip where the service finds it
            if str(cfg.source).startswith("webcam:"):
                # a webcam is this machine's own device: the local CLI's, never a remote API user's
                r = c.post("/v1/cameras", json=body, headers={"Authorization": f"Bearer {plain}"})
                assert r.status_code == 403 and r.json()["code"] == "source_not_allowed", (path.name, r.text)
                continue
            if not (isinstance(cfg.source, str) and "://" in cfg.source) and not Path(str(cfg.source)).exists():
                pytest.skip(f"shared test data not found: {cfg.source}")
            r = c.post("/v1/cameras", json=body, headers={"Authorization": f"Bearer {plain}"})
            assert r.status_code == 201, (path.name, r.text)
            assert yaml.safe_load(path.read_text())["name"] == r.json()["config"]["name"]
