"""`POST /v1/effects` and the catalogue through the real app (TestClient)."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from clearsight.io import decode_bytes

from ...conftest import data_path

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from clearsight.config import Settings
    from clearsight.server.app import create_app
    from clearsight.settings import ServerSettings

    settings = Settings(data_dir=tmp_path_factory.mktemp("fx-service"), models_dir=Settings().model_dir)
    app = create_app(settings, ServerSettings(warmup=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        keys = {}
        for role in ("client", "auditor"):
            _, plain = app.state.clearsight.keys.create(role, f"fx {role}")
            keys[role] = {"Authorization": f"Bearer {plain}"}
        yield client, keys


def test_effects_multipart_and_json(service):
    client, keys = service
    data = data_path("faces", "deepface_pairs", "img1.jpg").read_bytes()
    r = client.post("/v1/effects", headers=keys["client"], files={"image": ("a.jpg", data, "image/jpeg")},
                    data={"preset": "glam", "params": json.dumps({"stickers": "sunglasses"})})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    a, b = decode_bytes(data), decode_bytes(r.content)
    assert a.shape == b.shape and np.abs(a.astype(int) - b).mean() > 1
    r2 = client.post("/v1/effects", headers=keys["client"],
                     json={"image": base64.b64encode(data).decode(), "preset": "none", "params": {"eye_enlarge": 0.5}})
    assert r2.status_code == 200 and r2.content[:2] == b"\xff\xd8"


def test_effects_session_stream(service):
    """A stream keeps its pipeline: frames of one session are tracked and smoothed."""
    client, keys = service
    data = data_path("faces", "face_recognition_examples", "examples", "obama-480p.jpg").read_bytes()
    outs = []
    for i in range(4):
        r = client.post("/v1/effects", headers=keys["client"], files={"image": ("f.jpg", data, "image/jpeg")},
                        data={"preset": "party", "session": "cam1", "t": str(i / 30)})
        assert r.status_code == 200, r.text
        outs.append(decode_bytes(r.content))
    assert np.abs(outs[0].astype(int) - decode_bytes(data)).max() > 100


def test_effects_errors_are_problems(service):
    client, keys = service
    data = data_path("faces", "deepface_pairs", "img1.jpg").read_bytes()
    r = client.post("/v1/effects", headers=keys["client"], files={"image": ("a.jpg", data, "image/jpeg")}, data={"params": '{"beauty_score": 1}'})
    assert r.status_code == 422 and r.json()["code"] == "unknown_effect"
    r = client.post("/v1/effects", headers=keys["client"], files={"image": ("a.jpg", data, "image/jpeg")}, data={"preset": "disco"})
    assert r.status_code == 422 and r.json()["code"] == "unknown_preset"
    r = client.post("/v1/effects", headers=keys["client"], files={"image": ("a.jpg", b"garbage", "image/jpeg")})
    assert r.status_code == 422
    r = client.post("/v1/effects", headers=keys["client"], data={"preset": "glam"})
    assert r.status_code == 422 and r.json()["code"] == "image_required"
    assert client.post("/v1/effects", files={"image": ("a.jpg", data, "image/jpeg")}).status_code == 401
    # auditors never run a face through a model
    assert client.post("/v1/effects", headers=keys["auditor"], files={"image": ("a.jpg", data, "image/jpeg")}).status_code == 403


def test_catalogue(service):
    client, keys = service
    r = client.get("/v1/effects/catalogue", headers=keys["client"])
    assert r.status_code == 200
    body = r.json()
    assert "sunglasses" in body["stickers"] and "eye_enlarge" in body["face_controls"] and "waist" in body["body_controls"]
    assert body["presets"]["none"] == {}
