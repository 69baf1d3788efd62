"""Issue 19 on the service: streams end when their key is revoked, tickets open one
stream and stay out of the access log, deep or oversized JSON is a 4xx problem,
authentication runs before a body is parsed and failed attempts are rate-limited,
and every HTML page carries a CSP."""

from __future__ import annotations

import json
import logging
import time

import httpx
import pytest

from clearsight.config import get_settings
from clearsight.server import create_app
from clearsight.server.deps import AUTH_FAILURES_PER_MINUTE
from clearsight.settings import ServerSettings
from tests.live_server import running_app

DEEP = ("[" * 1000 + "]" * 1000).encode()


@pytest.fixture
def live(tmp_path):
    """A real uvicorn server (streams never end, which the TestClient cannot read)."""
    settings = get_settings().model_copy(update={"data_dir": tmp_path})
    app = create_app(settings, ServerSettings(warmup=False))
    admin = app.state.clearsight.keys.create("admin", "admin")[1]
    with running_app(app, start_timeout=30) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client, {"Authorization": f"Bearer {admin}"}


def _stream_ends_after_revocation(client: httpx.Client, admin: dict, url: str, key_id: str, headers: dict) -> int:
    """Opens the stream, revokes the key, and returns how many lines came after the
    revocation before the server closed the stream (fails if it stays open)."""
    deadline = time.monotonic() + 30
    with client.stream("GET", url, headers=headers) as resp:
        assert resp.status_code == 200, resp.read()
        lines = resp.iter_lines()
        assert next(lines) == ": connected"
        assert client.delete(f"/v1/keys/{key_id}", headers=admin).status_code == 200
        after = 0
        for _ in lines:  # heartbeats every 10 s would keep an unchecked stream open forever
            after += 1
            assert time.monotonic() < deadline, "the stream stayed open after its key was revoked"
    return after


def test_revoked_key_closes_its_open_event_streams(live):
    client, admin = live
    for via_ticket in (False, True):
        r = client.post("/v1/keys", json={"role": "auditor", "name": "watcher"}, headers=admin)
        assert r.status_code == 201, r.text
        key_id, plain = r.json()["id"], r.json()["key"]
        headers = {"Authorization": f"Bearer {plain}"}
        url = "/v1/events/stream"
        if via_ticket:
            url += "?ticket=" + client.post("/v1/stream-tickets", headers=headers).json()["ticket"]
            headers = {}
        _stream_ends_after_revocation(client, admin, url, key_id, headers)
        assert client.get("/v1/events/stream", headers={"Authorization": f"Bearer {plain}"}).status_code == 401


def test_a_ticket_opens_one_stream(live):
    client, admin = live
    ticket = client.post("/v1/stream-tickets", headers=admin).json()["ticket"]
    with client.stream("GET", f"/v1/events/stream?ticket={ticket}") as resp:
        assert resp.status_code == 200
        assert next(resp.iter_lines()) == ": connected"
    again = client.get(f"/v1/events/stream?ticket={ticket}")
    assert again.status_code == 401 and again.json()["code"] == "unauthorized"
    assert "used already" in again.json()["detail"]


def test_tickets_never_reach_the_access_log(make_client, caplog):
    c, key = make_client()
    ticket = c.post("/v1/stream-tickets", headers=key("admin")).json()["ticket"]
    access = logging.getLogger("uvicorn.access")
    access.addHandler(caplog.handler)  # uvicorn's config stops it propagating to the root
    try:
        with caplog.at_level(logging.INFO, logger="uvicorn.access"):
            # exactly how uvicorn's h11/httptools protocols log a request
            access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                        f"/v1/events/stream?camera=a&ticket={ticket}&type=x", "1.1", 200)
    finally:
        access.removeHandler(caplog.handler)
    line = caplog.records[-1].getMessage()
    assert ticket not in line and ticket.split(".")[-1] not in line
    assert "ticket=[redacted]" in line and "camera=a" in line and "type=x" in line


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/detect"), ("POST", "/v1/embed"), ("POST", "/v1/verify"), ("POST", "/v1/search"),
     ("POST", "/v1/identities/someone/faces"), ("POST", "/v1/effects"), ("POST", "/v1/dms/analyse"),
     ("POST", "/v1/identities"), ("PUT", "/v1/rules"), ("POST", "/v1/dms/sessions")],
)
def test_json_1000_levels_deep_is_a_400_problem(client_and_key, assert_problem, method, path):
    c, key = client_and_key
    r = c.request(method, path, content=DEEP, headers={**key("admin"), "Content-Type": "application/json"})
    assert_problem(r, 400, "json_too_deep")
    wrapped = b'{"image": "", "params": ' + DEEP + b"}"
    assert_problem(c.request(method, path, content=wrapped, headers={**key("admin"), "Content-Type": "application/json"}),
                   400, "json_too_deep")


def test_oversized_chunked_json_is_413(make_client, assert_problem):
    c, key = make_client(max_request_bytes=10_000)

    def chunks():
        yield b'{"display_name": "'
        for _ in range(20):
            yield b"x" * 1000
        yield b'"}'

    for path in ("/v1/identities", "/v1/detect"):
        r = c.post(path, content=chunks(), headers={**key("admin"), "Content-Type": "application/json"})
        assert "content-length" not in r.request.headers  # really chunked
        assert_problem(r, 413, "request_too_large")


def test_json_bodies_are_not_parsed_before_authentication(client_and_key, assert_problem):
    c, _ = client_and_key
    for body in (b"{not json", DEEP, json.dumps({"display_name": "x"}).encode()):
        r = c.post("/v1/identities", content=body, headers={"Content-Type": "application/json"})
        assert_problem(r, 401, "unauthorized")


def test_failed_authentication_is_rate_limited_per_address(client_and_key, assert_problem):
    c, key = client_and_key
    good = key("admin")
    bad = {"Authorization": "Bearer cs_000000000000_notasecret"}
    for _ in range(AUTH_FAILURES_PER_MINUTE):
        assert_problem(c.get("/v1/keys", headers=bad), 401, "unauthorized")
    r = c.get("/v1/keys", headers=bad)
    assert_problem(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
    assert_problem(c.get("/v1/keys", headers=good), 429, "rate_limited")  # the address, not the key, is throttled
    assert_problem(c.get("/v1/events/stream?ticket=a.1.b.c"), 429, "rate_limited")


def test_every_html_page_has_a_content_security_policy(client_and_key):
    c, _ = client_and_key
    for path in ("/", "/console/static/dms.html", "/console/static/effects.html", "/docs", "/redoc"):
        r = c.get(path)
        assert r.status_code == 200, path
        csp = r.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, (path, csp)
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0], (path, csp)
    docs = c.get("/docs")
    assert "'sha256-" in docs.headers["content-security-policy"] and "<script>" in docs.text
