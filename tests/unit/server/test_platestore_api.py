"""The plate routes: auth, hot-list CRUD under a legal basis, audited wildcard search, clear 4xx on bad input."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.unit


@pytest.fixture
def svc(make_client):
    c, key = make_client()
    return c, {r: key(r) for r in ("admin", "operator", "auditor", "client")}


def test_plate_routes_need_a_key_and_the_right_role(svc, assert_problem):
    c, k = svc
    assert_problem(c.get("/v1/plates/reads?q=AB*"), 401, "unauthorized")
    assert_problem(c.get("/v1/plates/reads?q=AB*", headers=k["client"]), 403, "forbidden")
    assert_problem(c.get("/v1/plates/reads?q=AB*", headers=k["auditor"]), 403, "forbidden")  # reviews lists, not plates
    assert c.get("/v1/plates/hotlists", headers=k["auditor"]).status_code == 200
    body = {"name": "x", "purpose": "parking", "legal_basis": "site rules 4.2"}
    assert_problem(c.post("/v1/plates/hotlists", json=body, headers=k["auditor"]), 403, "forbidden")
    assert_problem(c.post("/v1/plates/retention/purge", headers=k["operator"]), 403, "forbidden")


def test_hotlist_crud_needs_a_legal_basis_and_is_audited(svc, assert_problem):
    c, k = svc
    op = k["operator"]
    p = assert_problem(c.post("/v1/plates/hotlists", json={"name": "stolen", "purpose": "enforcement"}, headers=op), 422)
    assert "legal_basis" in str(p)
    assert_problem(c.post("/v1/plates/hotlists", json={"name": "stolen", "purpose": "enforcement", "legal_basis": "     ",
                                                        "plates": ["AB123"]}, headers=op), 422, "legal_basis_required")
    p = assert_problem(c.post("/v1/plates/hotlists", json={"name": "s", "purpose": "fun", "legal_basis": "abc"},
                              headers=op), 422)
    assert "enforcement" in p["detail"]  # names the purposes to choose from
    assert_problem(c.post("/v1/plates/hotlists", json={"name": "s", "purpose": "parking", "legal_basis": "abc",
                                                        "plates": ["AB+1"]}, headers=op), 422)
    assert_problem(c.post("/v1/plates/hotlists", json={"name": "s", "purpose": "parking", "legal_basis": "abc",
                                                        "color": "red"}, headers=op), 422)  # typo'd field refused
    assert_problem(c.post("/v1/plates/hotlists", content=b"{not json", headers={**op, "content-type": "application/json"}),
                   422)
    r = c.post("/v1/plates/hotlists", json={"name": "stolen", "purpose": "enforcement", "legal_basis": "police 2026/114",
                                            "plates": ["ab-123"]}, headers=op)
    assert r.status_code == 201, r.text
    hl = r.json()
    assert hl["plates"] == ["AB123"] and hl["created_by"].startswith("key:")
    assert_problem(c.post("/v1/plates/hotlists", json={"name": "stolen", "purpose": "parking", "legal_basis": "abc"},
                          headers=op), 409, "conflict")
    r = c.post(f"/v1/plates/hotlists/{hl['id']}/plates", json={"plates": ["XY 999"], "note": "reported"}, headers=op)
    assert r.json()["plates"] == ["AB123", "XY999"]
    assert c.delete(f"/v1/plates/hotlists/{hl['id']}/plates/AB-123", headers=op).json()["plates"] == ["XY999"]
    assert_problem(c.delete(f"/v1/plates/hotlists/{hl['id']}/plates/AB123", headers=op), 404, "not_found")
    r = c.patch(f"/v1/plates/hotlists/{hl['id']}", json={"alert": False, "expires_at": "2999-01-01T00:00:00Z"}, headers=op)
    assert r.json()["alert"] is False and r.json()["expires_at"].startswith("2999-01-01")
    assert c.patch(f"/v1/plates/hotlists/{hl['id']}", json={"expires_at": None}, headers=op).json()["expires_at"] is None
    assert_problem(c.patch(f"/v1/plates/hotlists/{hl['id']}", json={}, headers=op), 422)
    assert_problem(c.patch(f"/v1/plates/hotlists/{hl['id']}", json={"expires_at": "2001-01-01T00:00:00Z"}, headers=op), 422)
    assert_problem(c.get("/v1/plates/hotlists/ffff", headers=op), 404, "not_found")
    assert_problem(c.get("/v1/plates/hotlists/NOT-AN-ID", headers=op), 422)
    assert c.delete(f"/v1/plates/hotlists/{hl['id']}", headers=op).status_code == 204
    assert c.get("/v1/plates/hotlists", headers=op).json()["items"] == []
    entries = c.get("/v1/audit", params={"limit": 1000}, headers=k["auditor"]).json()["items"]
    assert [e["action"] for e in entries if e["action"].startswith("plates.")] == [
        "plates.hotlist.create", "plates.hotlist.add", "plates.hotlist.remove", "plates.hotlist.update",
        "plates.hotlist.update", "plates.hotlist.delete"]
    assert c.get("/v1/audit/verify", headers=k["auditor"]).json()["ok"] is True


def test_search_reads_with_wildcards_audited_and_bad_queries_refused(svc, assert_problem):
    c, k = svc
    op = k["operator"]
    store = c.app.state.clearsight.plates
    now = time.time()
    for i, (cam, text) in enumerate([("gate", "AB312XY"), ("dock", "AB912"), ("gate", "AC312")]):
        store.record(camera=cam, at=now - 60 + i, text=text, confidence=0.9, country="eu", crop_jpeg=b"\xff\xd8x")
    r = c.get("/v1/plates/reads", params={"q": "AB?12*"}, headers=op)
    assert r.status_code == 200 and [x["text"] for x in r.json()["items"]] == ["AB912", "AB312XY"]
    r = c.get("/v1/plates/reads", params={"q": "ab?12*", "camera": "gate", "since": now - 120, "until": now}, headers=op)
    assert [x["text"] for x in r.json()["items"]] == ["AB312XY"]
    rid = r.json()["items"][0]["id"]
    crop = c.get(f"/v1/plates/reads/{rid}/crop", headers=op)
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg" and crop.content == b"\xff\xd8x"
    csv = c.get("/v1/plates/reads", params={"q": "A*12*", "format": "csv"}, headers=op)
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.count("\n") == 4
    assert_problem(c.get("/v1/plates/reads", headers=op), 422)  # q is required
    assert "at least 2 characters" in assert_problem(c.get("/v1/plates/reads?q=*%3F*", headers=op), 422)["detail"]
    assert "not a plate search pattern" in assert_problem(c.get("/v1/plates/reads?q=AB%25", headers=op), 422)["detail"]
    assert_problem(c.get("/v1/plates/reads", params={"q": "AB*", "since": "yesterday"}, headers=op), 422)
    assert "since is after until" in assert_problem(
        c.get("/v1/plates/reads", params={"q": "AB*", "since": now, "until": now - 10}, headers=op), 422)["detail"]
    assert_problem(c.get("/v1/plates/reads/999999/crop", headers=op), 404)
    assert_problem(c.get("/v1/plates/reads/abc/crop", headers=op), 422)
    entries = c.get("/v1/audit", params={"limit": 1000}, headers=k["auditor"]).json()["items"]
    audited = [(e["action"], e["details"].get("pattern"), e["details"].get("results")) for e in entries
               if e["action"] in ("plates.search", "plates.export")]
    assert audited == [("plates.search", "AB?12*", 2), ("plates.search", "ab?12*", 1), ("plates.export", None, None),
                       ("plates.search", "A*12*", 3), ("plates.export", "A*12*", 3)]
    purge = c.post("/v1/plates/retention/purge", headers=k["admin"])
    assert purge.status_code == 200 and purge.json()["deleted"] == 0


def test_read_route_refuses_bad_uploads(svc, assert_problem):
    c, k = svc
    h = k["client"]
    assert_problem(c.post("/v1/plates/read", json={}, headers=h), 422, "image_required")
    assert_problem(c.post("/v1/plates/read", files={"image": ("x.jpg", b"not an image", "image/jpeg")}, headers=h), 422)
    assert_problem(c.post("/v1/plates/read", content=b"raw", headers={**h, "content-type": "text/plain"}), 415)
    assert_problem(c.post("/v1/plates/read", json={"image": "!!notbase64", "country": "eu"}, headers=h), 422)
    assert_problem(c.post("/v1/plates/read", json={"image": "aGk=", "country": "mars"}, headers=h), 422)

