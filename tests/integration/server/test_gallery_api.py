"""Identities, consent, enrolment, search, 1:1 vs identity, groups, erasure and the
audit trail through the API, on real photos, with each role's limits."""

from __future__ import annotations

import pytest

from tests.integration.server.conftest import enrol_obama_and_biden, knn_photo as _img

pytestmark = pytest.mark.integration



@pytest.fixture(scope="module")
def people(service):
    """Obama and Biden enrolled by an operator for purpose `access`."""
    c, keys = service
    return enrol_obama_and_biden(c, keys["operator"], "access")


def test_search_finds_the_right_person_with_crop_and_is_audited_with_the_key(service, people):
    c, keys = service
    r = c.post(
        "/v1/search", headers=keys["operator"], files={"image": ("q.jpg", _img("test", "obama1.jpg"))}, data={"purpose": "access"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["faces"]) == 1
    top = body["faces"][0]["matches"][0]
    assert top["identity_id"] == people["Barack Obama"] and top["match"] is True and top["display_name"] == "Barack Obama"
    assert body["faces"][0]["face"]["crop"].startswith("data:image/jpeg;base64,")
    others = [m for m in body["faces"][0]["matches"][1:] if m["match"]]
    assert others == []
    me = c.get("/v1/me", headers=keys["operator"]).json()
    audit = c.get("/v1/audit?limit=1000", headers=keys["auditor"]).json()["items"]
    searches = [e for e in audit if e["action"] == "search" and e["actor"] == f"key:{me['id']}"]
    assert searches and searches[-1]["purpose"] == "access" and searches[-1]["outcome"] == "match"


def test_search_every_face_in_a_group_photo(service, people):
    c, keys = service
    r = c.post(
        "/v1/search",
        headers=keys["admin"],
        files={"image": ("q.jpg", _img("test", "obama_and_biden.jpg"))},
        data={"purpose": "access", "all_faces": "true", "top_k": "2"},
    )
    assert r.status_code == 200, r.text
    found = {f["matches"][0]["display_name"] for f in r.json()["faces"] if f["matches"] and f["matches"][0]["match"]}
    assert found == {"Barack Obama", "Joe Biden"}


def test_search_for_another_purpose_finds_nobody(service, people):
    c, keys = service
    r = c.post(
        "/v1/search", headers=keys["operator"], files={"image": ("q.jpg", _img("test", "obama1.jpg"))}, data={"purpose": "watchlist"}
    )
    assert r.status_code == 200 and r.json()["faces"][0]["matches"] == []


def test_verify_against_identity(service, people, assert_problem):
    c, keys = service
    obama = people["Barack Obama"]
    r = c.post(
        "/v1/verify",
        headers=keys["client"],
        files={"image_a": ("q.jpg", _img("test", "obama1.jpg"))},
        data={"identity_id": obama, "purpose": "access"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["decision"] == "match" and r.json()["identity_id"] == obama
    r = c.post(
        "/v1/verify",
        headers=keys["client"],
        files={"image_a": ("q.jpg", _img("train", "biden", "biden2.jpg"))},
        data={"identity_id": obama, "purpose": "access"},
    )
    assert r.status_code == 200 and r.json()["decision"] == "no_match"
    # no consent for that purpose / purpose missing / unknown identity
    q = {"image_a": ("q.jpg", _img("test", "obama1.jpg"))}
    assert_problem(c.post("/v1/verify", headers=keys["client"], files=q, data={"identity_id": obama, "purpose": "kyc"}), 403, "consent_required")
    assert_problem(c.post("/v1/verify", headers=keys["client"], files=q, data={"identity_id": obama}), 422, "invalid_input")
    assert_problem(c.post("/v1/verify", headers=keys["client"], files=q, data={"identity_id": "nope", "purpose": "kyc"}), 404, "not_found")


def test_roles_on_gallery_endpoints(service, people, assert_problem):
    c, keys = service
    q = {"image": ("q.jpg", _img("test", "obama1.jpg"))}
    assert_problem(c.get("/v1/identities", headers=keys["client"]), 403, "forbidden")
    assert_problem(c.post("/v1/search", headers=keys["client"], files=q, data={"purpose": "access"}), 403, "forbidden")
    assert_problem(c.post("/v1/search", headers=keys["auditor"], files=q, data={"purpose": "access"}), 403, "forbidden")
    assert_problem(c.get("/v1/audit", headers=keys["operator"]), 403, "forbidden")
    assert_problem(c.delete(f"/v1/identities/{people['Joe Biden']}", headers=keys["auditor"]), 403, "forbidden")
    page = c.get("/v1/identities", headers=keys["auditor"]).json()
    assert page["total"] >= len(page["items"]) >= 2
    listed = page["items"]
    assert {i["display_name"] for i in listed} >= {"Barack Obama", "Joe Biden"}
    assert all(i["consents"] and i["consents"][0]["active"] for i in listed)
    assert c.get("/v1/audit/verify", headers=keys["auditor"]).json()["ok"] is True


def test_enrol_without_consent_and_duplicates_are_refused(service, assert_problem):
    c, keys = service
    op = keys["operator"]
    ident = c.post("/v1/identities", headers=op, json={"display_name": "Kit Harington"}).json()
    p = assert_problem(
        c.post(f"/v1/identities/{ident['id']}/faces", headers=op, files={"image": ("k.jpg", _img("train", "kit_harington", "john1.jpeg"))}),
        403,
        "consent_required",
    )
    assert "consent" in p["detail"]
    assert c.get(f"/v1/identities/{ident['id']}", headers=op).json()["template_count"] == 0
    c.post("/v1/identities", headers=op, json={"display_name": "X", "external_id": "dup-1"})
    assert_problem(c.post("/v1/identities", headers=op, json={"display_name": "Y", "external_id": "dup-1"}), 409, "conflict")
    assert_problem(c.get("/v1/identities/does-not-exist", headers=op), 404, "not_found")


def test_groups_restrict_search(service, people):
    c, keys = service
    op = keys["operator"]
    assert c.post("/v1/groups", headers=op, json={"name": "vip"}).status_code == 201
    g = c.put(f"/v1/groups/vip/members/{people['Joe Biden']}", headers=op).json()
    assert g["member_count"] == 1
    r = c.post(
        "/v1/search",
        headers=op,
        files={"image": ("q.jpg", _img("test", "obama1.jpg"))},
        data={"purpose": "access", "group": "vip"},
    ).json()
    assert all(m["identity_id"] != people["Barack Obama"] for m in r["faces"][0]["matches"])
    assert c.delete(f"/v1/groups/vip/members/{people['Joe Biden']}", headers=op).json()["member_count"] == 0
    assert "vip" in {x["name"] for x in c.get("/v1/groups", headers=op).json()["items"]}


def test_withdraw_consent_then_erase(service, assert_problem):
    c, keys = service
    op = keys["operator"]
    ident = c.post("/v1/identities", headers=op, json={"display_name": "Rose Leslie"}).json()
    consent = c.post(
        f"/v1/identities/{ident['id']}/consents", headers=op, json={"purpose": "photos", "legal_basis": "consent", "granted_by": "Rose"}
    ).json()
    assert c.post(f"/v1/identities/{ident['id']}/faces", headers=op, files={"image": ("r.jpg", _img("train", "rose_leslie", "img1.jpg"))}).status_code == 201
    q = {"image": ("q.jpg", _img("train", "rose_leslie", "img2.jpg"))}
    hits = c.post("/v1/search", headers=op, files=q, data={"purpose": "photos"}).json()["faces"][0]["matches"]
    assert hits and hits[0]["identity_id"] == ident["id"]
    w = c.delete(f"/v1/consents/{consent['id']}", headers=op).json()
    assert w["active"] is False and w["withdrawn_at"]
    hits = c.post("/v1/search", headers=op, files=q, data={"purpose": "photos"}).json()["faces"][0]["matches"]
    assert all(h["identity_id"] != ident["id"] for h in hits)
    assert c.delete(f"/v1/identities/{ident['id']}", headers=op).json() == {"erased": ident["id"]}
    assert_problem(c.get(f"/v1/identities/{ident['id']}", headers=op), 404, "not_found")
    audit = c.get("/v1/audit?limit=1000", headers=keys["admin"]).json()["items"]
    assert any(e["action"] == "erase" and e["target"] == ident["id"] for e in audit)


def test_blurred_enrolment_photo_is_refused_with_reasons_and_nothing_is_stored(service, assert_problem):
    import io

    from PIL import Image, ImageFilter

    c, keys = service
    op = keys["operator"]
    ident = c.post("/v1/identities", headers=op, json={"display_name": "Blurry"}).json()
    c.post(f"/v1/identities/{ident['id']}/consents", headers=op, json={"purpose": "kyc", "legal_basis": "contract", "granted_by": "Blurry"})
    img = Image.open(io.BytesIO(_img("train", "kit_harington", "john1.jpeg"))).convert("RGB").filter(ImageFilter.GaussianBlur(6))
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    p = assert_problem(c.post(f"/v1/identities/{ident['id']}/faces", headers=op, files={"image": ("b.jpg", buf.getvalue())}), 422, "quality_rejected")
    assert p["reasons"] == ["blurry"]
    assert c.get(f"/v1/identities/{ident['id']}", headers=op).json()["template_count"] == 0


def test_export_is_audited_and_purge_is_admin_only(service, people, assert_problem):
    c, keys = service
    exp = c.get(f"/v1/identities/{people['Barack Obama']}/export", headers=keys["auditor"]).json()
    assert exp["identity"]["display_name"] == "Barack Obama" and len(exp["templates"]) == 1
    assert "vector" not in str(exp) and exp["consents"][0]["purpose"] == "access"
    audit = c.get("/v1/audit?limit=1000", headers=keys["auditor"]).json()["items"]
    assert any(e["action"] == "export" and e["target"] == people["Barack Obama"] for e in audit)
    assert_problem(c.post("/v1/retention/purge", headers=keys["operator"]), 403, "forbidden")
    r = c.post("/v1/retention/purge", headers=keys["admin"]).json()
    assert set(r) == {"consents_purged", "templates_purged", "identities_affected"}


def test_a_search_without_a_face_is_refused_and_still_audited(service, assert_problem):
    import io

    from PIL import Image

    c, keys = service
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 140, 60)).save(buf, format="PNG")
    me = c.get("/v1/me", headers=keys["admin"]).json()
    assert_problem(c.post("/v1/search", headers=keys["admin"], files={"image": ("g.png", buf.getvalue())}, data={"purpose": "kyc"}), 422, "no_face")
    r = c.post("/v1/search", headers=keys["admin"], files={"image": ("g.png", buf.getvalue())}, data={"purpose": "kyc", "all_faces": "true"})
    assert r.status_code == 200 and r.json()["faces"] == []
    audit = c.get("/v1/audit?limit=1000", headers=keys["admin"]).json()["items"]
    rejected = [e for e in audit if e["action"] == "search" and e["actor"] == f"key:{me['id']}" and e["outcome"] == "rejected"]
    assert len(rejected) == 2 and all(e["purpose"] == "kyc" for e in rejected)
