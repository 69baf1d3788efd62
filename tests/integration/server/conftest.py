from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from clearsight.config import Settings
from clearsight.server import create_app
from clearsight.server.settings import ServerSettings


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """One app per module (models load once), with a key per role."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("service"), models_dir=Settings().model_dir)
    app = create_app(settings, ServerSettings(warmup=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        keys = {}
        for role in ("admin", "operator", "auditor", "client"):
            _, plain = app.state.clearsight.keys.create(role, f"test {role}")
            keys[role] = {"Authorization": f"Bearer {plain}"}
        yield client, keys


@pytest.fixture
def assert_problem():
    def check(resp, status: int, code: str | None = None) -> dict:
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        body = resp.json()
        if code is not None:
            assert body["code"] == code, body
        return body

    return check
