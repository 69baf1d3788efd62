"""detect / embed / verify on real photos, through both body shapes."""

import base64

import numpy as np
import pytest

from tests.conftest import data_path

pytestmark = pytest.mark.integration

DP = ("faces", "deepface_pairs")


def _b(path) -> bytes:
    return path.read_bytes()


def test_detect_multipart_finds_every_face_with_quality_and_crops(service):
    c, keys = service
    img = _b(data_path(*DP, "selfie-many-people.jpg"))
    r = c.post("/v1/detect", headers=keys["client"], files={"image": ("s.jpg", img)}, data={"quality": "true", "crops": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["faces"]) >= 4
    f = body["faces"][0]
    assert set(f["landmarks"]) == {"left_eye", "right_eye", "nose", "mouth_left", "mouth_right"}
    assert f["quality"]["reasons"] is not None and f["crop"].startswith("data:image/jpeg;base64,")
    b = f["box"]
    assert 0 <= b["x1"] < b["x2"] <= body["width"] and 0 <= b["y1"] < b["y2"] <= body["height"]


def test_verify_same_and_different_people_json_and_multipart(service):
    c, keys = service
    a = _b(data_path(*DP, "img1.jpg"))
    same = _b(data_path(*DP, "img2.jpg"))  # master.csv: img1/img2 same person
    other = _b(data_path(*DP, "img3.jpg"))
    enc = lambda x: base64.b64encode(x).decode()  # noqa: E731
    r = c.post("/v1/verify", headers=keys["client"], json={"image_a": enc(a), "image_b": enc(same)})
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["decision"] == "match" and v["similarity"] >= v["threshold"] and v["operating_point"] == "balanced"
    r = c.post(
        "/v1/verify",
        headers=keys["operator"],
        files={"image_a": ("a.jpg", a), "image_b": ("b.jpg", other)},
        data={"operating_point": "strict"},
    )
    v2 = r.json()
    assert r.status_code == 200 and v2["decision"] == "no_match" and v2["operating_point"] == "strict"
    assert v2["similarity"] < v["similarity"]


def test_embed_returns_unit_vector_and_same_template_either_shape(service):
    c, keys = service
    img = _b(data_path(*DP, "img1.jpg"))
    r1 = c.post("/v1/embed", headers=keys["client"], files={"image": ("a.jpg", img)}).json()
    r2 = c.post("/v1/embed", headers=keys["client"], json={"image": base64.b64encode(img).decode()}).json()
    v = np.array(r1["vector"])
    assert r1["dim"] == len(v) and abs(np.linalg.norm(v) - 1) < 1e-3
    assert np.allclose(v, r2["vector"], atol=1e-5)


def test_no_face_is_a_clear_422(service, assert_problem):
    c, keys = service
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 160, 200)).save(buf, format="PNG")
    p = assert_problem(c.post("/v1/embed", headers=keys["client"], files={"image": ("sky.png", buf.getvalue())}), 422, "no_face")
    assert "face" in p["detail"]
    p = assert_problem(
        c.post("/v1/verify", headers=keys["client"], files={"image_a": ("sky.png", buf.getvalue()), "image_b": ("sky.png", buf.getvalue())}),
        422,
        "no_face",
    )
    assert p["detail"].startswith("image_a")


def test_grayscale_and_rgba_inputs_work(service):
    c, keys = service
    rgba = _b(data_path("faces", "face_recognition_examples", "tests", "test_images", "32bit.png"))
    r = c.post("/v1/detect", headers=keys["client"], files={"image": ("a.png", rgba)})
    assert r.status_code == 200 and len(r.json()["faces"]) >= 1


def test_models_status_lists_checksummed_models(service):
    c, keys = service
    rows = c.get("/v1/models", headers=keys["auditor"]).json()
    names = {m["name"] for m in rows}
    assert "blazeface-full-range" in names
    assert all({"licence", "sha256", "checksum_ok"} <= set(m) for m in rows)
