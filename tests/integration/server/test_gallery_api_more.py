"""1:1 verification against an enrolled identity, audit paging and identity updates
through the API, on real photos, with each role's limits."""

from __future__ import annotations

import pytest

from tests.integration.server.conftest import enrol_obama_and_biden, knn_photo as _img

pytestmark = pytest.mark.integration

VERIFY_KEYS = {"similarity", "decision", "match", "threshold", "operating_point", "target_fmr", "model", "reasons", "id_photo",
               "identity_id", "face_a", "face_b"}


@pytest.fixture(scope="module")
def people(service):
    """Obama and Biden enrolled by an operator with a `login` consent."""
    c, keys = service
    return enrol_obama_and_biden(c, keys["operator"], "login")


def _verify(c, headers, identity_id: str, photo: tuple[str, ...], purpose: str = "login", **extra: str):  # noqa: ANN001, ANN202
    return c.post("/v1/verify", headers=headers, files={"image_a": ("q.jpg", _img(*photo))},
                  data={"identity_id": identity_id, "purpose": purpose, **extra})


def _audit(c, keys, **params):  # noqa: ANN001, ANN003, ANN202
    r = c.get("/v1/audit", headers=keys["auditor"], params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_verify_by_identity_matches_the_person_and_keeps_the_response_schema(service, people):
    c, keys = service
    obama = people["Barack Obama"]
    r = _verify(c, keys["client"], obama, ("test", "obama1.jpg"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == VERIFY_KEYS and body["face_b"] is None and body["face_a"]["box"]
    assert (body["decision"], body["match"], body["identity_id"]) == ("match", True, obama)
    assert body["similarity"] >= body["threshold"] and body["operating_point"] == "balanced"
    r = _verify(c, keys["client"], obama, ("train", "biden", "biden2.jpg"), operating_point="lenient")
    assert r.status_code == 200 and (r.json()["decision"], r.json()["match"]) == ("no_match", False)
    assert r.json()["operating_point"] == "lenient"


def test_verify_by_identity_is_audited_with_the_key_and_no_vector(service, people):
    c, keys = service
    obama = people["Barack Obama"]
    me = c.get("/v1/me", headers=keys["client"]).json()
    sim = _verify(c, keys["client"], obama, ("test", "obama1.jpg"), operating_point="strict").json()["similarity"]
    entry = _audit(c, keys, order="desc")["items"]
    entry = next(e for e in entry if e["action"] == "verify")
    assert (entry["actor"], entry["purpose"], entry["target"], entry["outcome"]) == (f"key:{me['id']}", "login", obama, "match")
    assert set(entry["details"]) == {"similarity", "operating_point", "model", "template_id"}
    assert entry["details"]["similarity"] == sim and entry["details"]["operating_point"] == "strict"
    assert not any(isinstance(v, list) for v in entry["details"].values())
    # the 1:1 check no longer runs (and audits) a 1:N search behind the caller's back
    assert not any(e["action"] == "search" and e["actor"] == f"key:{me['id']}" for e in _audit(c, keys)["items"])


def test_verify_refusals_consent_unknown_and_erased(service, people, assert_problem):
    c, keys = service
    obama = people["Barack Obama"]
    assert_problem(_verify(c, keys["client"], obama, ("test", "obama1.jpg"), purpose="facepay"), 403, "consent_required")
    last = _audit(c, keys, order="desc", limit=1)["items"][0]
    assert (last["action"], last["target"], last["purpose"], last["outcome"]) == ("verify", obama, "facepay", "refused")
    assert_problem(_verify(c, keys["client"], "no-such-identity", ("test", "obama1.jpg")), 404, "not_found")
    op = keys["operator"]
    ident = c.post("/v1/identities", headers=op, json={"display_name": "Kit Harington"}).json()
    c.post(f"/v1/identities/{ident['id']}/consents", headers=op, json={"purpose": "login", "legal_basis": "consent", "granted_by": "Kit"})
    assert c.post(f"/v1/identities/{ident['id']}/faces", headers=op,
                  files={"image": ("k.jpg", _img("train", "kit_harington", "john1.jpeg"))}).status_code == 201
    assert _verify(c, keys["client"], ident["id"], ("train", "kit_harington", "john2.jpeg")).json()["match"] is True
    assert c.delete(f"/v1/identities/{ident['id']}", headers=op).status_code == 200
    assert_problem(_verify(c, keys["client"], ident["id"], ("train", "kit_harington", "john2.jpeg")), 404, "not_found")


def test_audit_pages_newest_first_with_a_total(service, people, assert_problem):
    c, keys = service
    asc = _audit(c, keys)
    assert asc["total"] == len(asc["items"]) >= 6
    assert [e["seq"] for e in asc["items"]] == sorted(e["seq"] for e in asc["items"])
    default = c.get("/v1/audit", headers=keys["auditor"], params={"limit": 3}).json()
    assert [e["seq"] for e in default["items"]] == [1, 2, 3] and default["total"] == asc["total"]
    desc = _audit(c, keys, order="desc", limit=3, offset=1)
    assert [e["seq"] for e in desc["items"]] == [asc["total"] - 1, asc["total"] - 2, asc["total"] - 3]
    assert (desc["offset"], desc["limit"]) == (1, 3)
    assert_problem(c.get("/v1/audit", headers=keys["auditor"], params={"order": "newest"}), 422, "invalid_request")
    # one person's trail: every entry about Obama, and only those, counted the same way
    mine = _audit(c, keys, target=people["Barack Obama"])
    assert mine["items"] and all(e["target"] == people["Barack Obama"] for e in mine["items"])
    assert mine["total"] == len(mine["items"]) < asc["total"]
    enrols = _audit(c, keys, action="enrol", target=people["Barack Obama"])
    assert [e["action"] for e in enrols["items"]] == ["enrol"] and enrols["total"] == 1
    assert_problem(c.get("/v1/audit", headers=keys["operator"], params={"order": "desc"}), 403, "forbidden")


def test_patch_identity_changes_metadata_and_audits_field_names(service, people, assert_problem):
    c, keys = service
    op = keys["operator"]
    biden = people["Joe Biden"]
    r = c.patch(f"/v1/identities/{biden}", headers=op, json={"display_name": "Joseph R. Biden", "attributes": {"office": "VP"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["display_name"], body["attributes"], body["template_count"]) == ("Joseph R. Biden", {"office": "VP"}, 1)
    assert body["consents"][0]["purpose"] == "login"
    assert c.get(f"/v1/identities/{biden}", headers=keys["auditor"]).json()["display_name"] == "Joseph R. Biden"
    r = c.patch(f"/v1/identities/{biden}", headers=keys["admin"], json={"external_id": "biden-46"})
    assert r.status_code == 200 and r.json()["external_id"] == "biden-46" and r.json()["display_name"] == "Joseph R. Biden"
    updates = [e for e in _audit(c, keys)["items"] if e["action"] == "identity.update" and e["target"] == biden]
    assert [e["details"] for e in updates] == [{"changed": ["attributes", "display_name"]}, {"changed": ["external_id"]}]
    assert "Joseph" not in str(updates) and "VP" not in str(updates) and "biden-46" not in str(updates)


def test_patch_identity_refusals(service, people, assert_problem):
    c, keys = service
    op = keys["operator"]
    obama, biden = people["Barack Obama"], people["Joe Biden"]
    assert c.patch(f"/v1/identities/{obama}", headers=op, json={"external_id": "obama-44"}).status_code == 200
    assert_problem(c.patch(f"/v1/identities/{biden}", headers=op, json={"external_id": "obama-44"}), 409, "conflict")
    for bad in ({}, {"display_name": None}, {"display_name": ""}, {"nickname": "Joe"}, {"attributes": {"a": [1]}}):
        assert_problem(c.patch(f"/v1/identities/{biden}", headers=op, json=bad), 422, "invalid_request")
    assert_problem(c.patch("/v1/identities/no-such-identity", headers=op, json={"display_name": "X"}), 404, "not_found")
    for role in ("auditor", "client"):
        assert_problem(c.patch(f"/v1/identities/{biden}", headers=keys[role], json={"display_name": "X"}), 403, "forbidden")
    assert c.get(f"/v1/identities/{biden}", headers=op).json()["display_name"] != "X"
