"""`/v1/photos/imports`: a folder under the media roots imported in the background by an
admin, its progress and report, refusals outside the roots, and a second import of the same
folder that finds only duplicates; then the people REST lists."""

from __future__ import annotations

import time

import pytest

from ..photos.conftest import build_folder
from .test_footage_api import service_media

pytestmark = pytest.mark.integration


def _wait(client, headers, run_id):  # noqa: ANN001, ANN202
    for _ in range(1500):
        runs = {r["id"]: r for r in client.get("/v1/photos/imports", headers=headers).json()}
        if runs[run_id]["state"] not in ("queued", "running"):
            return runs[run_id]
        time.sleep(0.2)
    raise AssertionError(f"import {run_id} did not finish: {runs[run_id]}")


def test_photo_import_api(service, assert_problem):
    client, keys = service
    admin = keys["admin"]
    for role in ("operator", "auditor", "client"):
        assert_problem(client.post("/v1/photos/imports", headers=keys[role], json={"folder": "Pictures"}), 403)
        assert_problem(client.get("/v1/photos/imports", headers=keys[role]), 403)
    # outside the media roots, or absent: the same refusal, naming no path
    outside = client.post("/v1/photos/imports", headers=admin, json={"folder": "/etc"})
    missing = client.post("/v1/photos/imports", headers=admin, json={"folder": "no/such/folder"})
    assert outside.status_code == missing.status_code == 403
    assert outside.json()["detail"] == missing.json()["detail"] and "/etc" not in outside.text
    media = service_media(client)
    shows = build_folder(media / "Pictures")
    (media / "a_file.jpg").write_bytes(b"x")
    assert_problem(client.post("/v1/photos/imports", headers=admin, json={"folder": "a_file.jpg"}), 422)
    assert_problem(client.post("/v1/photos/imports", headers=admin, json={"folder": "Pictures", "x": 1}), 422)

    r = client.post("/v1/photos/imports", headers=admin, json={"folder": "Pictures"})
    assert r.status_code == 202 and r.json()["state"] in ("queued", "running"), r.text
    run = _wait(client, admin, r.json()["id"])
    assert run["state"] == "done", run
    photos = {p for v in shows.values() for p in v}
    rep = run["report"]
    assert run["done"] == run["total"] == rep["found"]
    assert rep["imported"] == len(photos) and rep["duplicates"] == 1  # the byte-identical copy
    problems = {p["path"].rsplit("/", 1)[-1] for p in rep["problems"]}
    assert {"broken.jpg", "empty"} <= problems

    again = _wait(client, admin, client.post("/v1/photos/imports", headers=admin,
                                             json={"folder": str(media / "Pictures")}).json()["id"])
    assert again["report"]["imported"] == 0 and again["report"]["duplicates"] == len(photos) + 1
    assert [x["id"] for x in client.get("/v1/photos/imports", headers=admin).json()] == [again["id"], run["id"]]
    people = client.get("/v1/photos/people", headers=keys["operator"]).json()
    assert sum(p["faces"] for p in people) == rep["faces"] >= len(photos)
    audit = client.get("/v1/audit", headers=admin, params={"action": "photos.import", "limit": 10}).json()
    assert len(audit["items"]) == 2
