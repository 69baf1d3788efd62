from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from clearsight.config import Settings
from clearsight.server import create_app
from clearsight.settings import ServerSettings
from tests.conftest import data_path

KNN = ("faces", "face_recognition_examples", "examples", "knn_examples")


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


def knn_photo(*parts: str) -> bytes:
    """A photo from face_recognition's knn examples (train/<name>/..., test/...)."""
    return data_path(*KNN, *parts).read_bytes()


def enrol_obama_and_biden(client, headers: dict, purpose: str) -> dict[str, str]:  # noqa: ANN001
    """Obama and Biden through the API as a caller would: identity, consent for
    `purpose`, one face each (which must pass the quality gate). Name -> identity id."""
    out = {}
    for name, photo in (("Barack Obama", ("train", "obama", "obama.jpg")), ("Joe Biden", ("train", "biden", "biden.jpg"))):
        r = client.post("/v1/identities", headers=headers,
                        json={"display_name": name, "external_id": f"{name.split()[1].lower()}-{purpose}"})
        assert r.status_code == 201, r.text
        ident = r.json()
        r = client.post(f"/v1/identities/{ident['id']}/consents", headers=headers,
                        json={"purpose": purpose, "legal_basis": "consent", "granted_by": name})
        assert r.status_code == 201, r.text
        r = client.post(f"/v1/identities/{ident['id']}/faces", headers=headers,
                        files={"image": ("p.jpg", knn_photo(*photo))})
        assert r.status_code == 201, r.text
        assert r.json()["quality"]["passed"] is True
        out[name] = ident["id"]
    return out
