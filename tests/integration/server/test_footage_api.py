"""`/v1/footage`: who may index and search, refusals without purpose and legal basis, a background
index run of a file under the media roots, candidates with thumbnails."""

from __future__ import annotations

import time

import numpy as np
import pytest

from clearsight.io import load_image
from clearsight.io.writer import VideoWriter

from ...conftest import data_path
from .conftest import knn_photo

pytestmark = pytest.mark.integration
BASIS = {"purpose": "investigation", "legal_basis": "court_order 2026/114"}


def _clip(path, photo) -> None:
    """One second of a real photo on a grey 640x360 frame, drifting right (a face to track)."""
    face = load_image(photo)
    h, w = face.shape[:2]
    with VideoWriter(path, fps=12) as out:
        for i in range(12):
            frame = np.full((360, 640, 3), 90, np.uint8)
            x = 100 + 4 * i
            frame[40:40 + h, x:x + w] = face[: 360 - 40, : 640 - x]
            out.write(frame)


def test_footage_api(service, assert_problem, tmp_path):
    client, keys = service
    photo = ("train", "obama", "obama.jpg")
    image = {"image": ("p.jpg", knn_photo(*photo))}
    for role in ("auditor", "client"):
        assert_problem(client.post("/v1/footage/search", headers=keys[role], files=image, data=BASIS), 403)
    assert_problem(client.post("/v1/footage/index", headers=keys["operator"], json={"paths": ["x.mp4"]}), 403)
    # refused, and audited, before the photo is looked at
    for data in ({}, {"purpose": "watchlist", "legal_basis": "court_order"}, {"purpose": "investigation"},
                 {"purpose": "missing_person", "legal_basis": "consent"}):
        assert_problem(client.post("/v1/footage/search", headers=keys["operator"], files=image, data=data), 403,
                       "footage_search_refused")
    audit = client.get("/v1/audit", headers=keys["admin"], params={"action": "footage_search", "limit": 10}).json()
    assert sum(e["outcome"] == "refused" for e in audit["items"]) == 4
    # files outside the media roots are refused whole
    assert client.post("/v1/footage/index", headers=keys["admin"], json={"paths": ["/etc/passwd"]}).status_code == 403
    media = service_media(client)
    media.mkdir(parents=True, exist_ok=True)
    _clip(media / "door.mp4", data_path("faces", "face_recognition_examples", "examples", "knn_examples", *photo))
    r = client.post("/v1/footage/index", headers=keys["admin"], json={"paths": ["door.mp4"]})
    assert r.status_code == 202, r.text
    for _ in range(600):
        videos = client.get("/v1/footage/videos", headers=keys["admin"]).json()
        if videos and videos[0]["status"] == "done":
            break
        time.sleep(0.2)
    assert videos[0]["status"] == "done" and videos[0]["tracks"] >= 1, videos
    r = client.post("/v1/footage/search", headers=keys["operator"], data=BASIS,
                    files={"image": ("q.jpg", knn_photo("test", "obama1.jpg"))})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "candidates" and body["n"] == videos[0]["tracks"] and body["hits"]
    top = body["hits"][0]
    assert top["video"].endswith("door.mp4") and 0 <= top["start_s"] <= top["end_s"] <= 1.0
    thumb = client.get(top["thumbnail_url"], headers=keys["operator"])
    assert thumb.status_code == 200 and thumb.content.startswith(b"\xff\xd8")
    assert client.delete(f"/v1/footage/videos/{videos[0]['video_id']}", headers=keys["admin"]).status_code == 204
    assert client.get("/v1/footage/videos", headers=keys["admin"]).json() == []


def service_media(client):  # noqa: ANN001, ANN201
    state = client.app.state.clearsight
    return state.settings.media_roots(state.server.remote)[0]
