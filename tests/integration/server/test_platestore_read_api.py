"""`POST /v1/plates/read` with the real readers: a real photo's plate, an empty photo's none, nothing stored."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.conftest import data_path

pytestmark = pytest.mark.integration


def test_read_route_reads_a_real_plate_and_stores_nothing(service):
    c, k = service
    photo = data_path("plates", "openalpr", "endtoend", "eu", "eu11.jpg").read_bytes()  # ground truth BS47040
    r = c.post("/v1/plates/read", files={"image": ("eu11.jpg", photo, "image/jpeg")}, data={"country": "eu"},
               headers=k["client"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["width"], body["height"]) == (600, 387)
    best = body["plates"][0]
    assert best["text"] == "BS47040" and best["country"] == "eu" and 0.5 < best["confidence"] <= 1
    x1, y1, x2, y2 = best["box"]
    assert abs(x1 - 92) < 20 and abs(y1 - 201) < 15 and abs(x2 - 214) < 20 and abs(y2 - 229) < 15  # openalpr's box
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 120, 90)).save(buf, format="PNG")
    empty = c.post("/v1/plates/read", files={"image": ("empty.png", buf.getvalue(), "image/png")}, headers=k["client"])
    assert empty.status_code == 200 and empty.json()["plates"] == []
    assert c.app.state.clearsight.plates.count_reads() == 0
