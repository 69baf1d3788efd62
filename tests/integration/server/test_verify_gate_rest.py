"""REST: verify behind the quality gate (inconclusive with reasons, the id_photo flag)
and open-set search responses that state the FPIR and the FNIR expected at this N."""

from __future__ import annotations

import cv2
import pytest

from tests.conftest import data_path
from tests.integration.server.conftest import enrol_obama_and_biden, knn_photo

pytestmark = pytest.mark.integration

EX = ("faces", "face_recognition_examples", "examples")


def _tiny_face_png(path, face_px: float = 26) -> bytes:
    from clearsight.face.pipeline import default_pipeline

    bgr = cv2.imread(str(path))
    face = max(default_pipeline().detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), key=lambda f: f.box.area)
    s = face_px / face.box.width
    return cv2.imencode(".png", cv2.resize(bgr, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))[1].tobytes()


def test_verify_a_tiny_face_is_inconclusive_with_reasons(service):
    c, keys = service
    a = data_path(*EX, "obama.jpg").read_bytes()
    tiny = _tiny_face_png(data_path(*EX, "obama2.jpg"))
    for flag in ("false", "true"):
        r = c.post("/v1/verify", headers=keys["client"], files={"image_a": ("a.jpg", a), "image_b": ("b.png", tiny)},
                   data={"id_photo": flag})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["decision"] == "inconclusive" and body["match"] is False
        assert "b:face_too_small" in body["reasons"] and body["id_photo"] is (flag == "true")


def test_search_states_the_open_set_point(service):
    c, keys = service
    people = enrol_obama_and_biden(c, keys["operator"], "facepay")
    r = c.post("/v1/search", headers=keys["operator"], files={"image": ("q.jpg", knn_photo("test", "obama1.jpg"))},
               data={"purpose": "facepay"})
    assert r.status_code == 200, r.text
    body = r.json()
    op = body["open_set"]
    assert op["mode"] == "decision" and op["fpir"] == 1e-4 and op["n"] == 2 and op["threshold"] > 0.9
    assert 0 < op["expected_fnir"] < 1 and isinstance(op["reachable"], bool)
    top = body["faces"][0]["matches"][0]
    assert top["identity_id"] == people["Barack Obama"] and top["match"] is (top["similarity"] >= op["threshold"])
    assert sum(m["match"] for m in body["faces"][0]["matches"]) <= 1
    r = c.post("/v1/search", headers=keys["operator"], files={"image": ("q.jpg", knn_photo("test", "obama1.jpg"))},
               data={"purpose": "facepay", "mode": "candidates"})
    assert r.json()["open_set"]["mode"] == "candidates"
    assert not any(m["match"] for m in r.json()["faces"][0]["matches"])
