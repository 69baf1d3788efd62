from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from clearsight.config import get_settings
from clearsight.server import create_app
from clearsight.settings import ServerSettings


@pytest.fixture
def make_client():
    """A TestClient on a fresh app (no model warm-up) and a key factory."""
    clients = []

    def _make(**server_kw):
        server_kw.setdefault("warmup", False)
        app = create_app(get_settings(), ServerSettings(**server_kw))
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)

        def key(role: str, **kw) -> dict[str, str]:
            _, plain = app.state.clearsight.keys.create(role, **kw)
            return {"Authorization": f"Bearer {plain}"}

        return client, key

    yield _make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client_and_key(make_client):
    return make_client()


@pytest.fixture
def assert_problem():
    return check_problem


def check_problem(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["title"] and body["code"]
    if code is not None:
        assert body["code"] == code, body
    text = resp.text.lower()
    assert "traceback" not in text and 'file "' not in text
    return body
