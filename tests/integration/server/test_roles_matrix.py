"""Every /v1 operation x every role: refused with 403 `forbidden` exactly when the
role lacks the permission, before any work; anything else when it has it."""

from __future__ import annotations

import pytest

from clearsight.server.auth import ROLE_PERMISSIONS, Permission, Role

pytestmark = pytest.mark.integration

P = Permission
# (method, path) -> the permission it needs; every /v1 operation must be listed here
NEEDS: dict[tuple[str, str], Permission | None] = {
    ("GET", "/v1/me"): None,
    ("POST", "/v1/detect"): P.ANALYZE,
    ("POST", "/v1/embed"): P.ANALYZE,
    ("POST", "/v1/verify"): P.ANALYZE,  # or VERIFY_IDENTITY; same role set today
    ("GET", "/v1/models"): P.MODELS_READ,
    ("GET", "/v1/identities"): P.IDENTITIES_READ,
    ("POST", "/v1/identities"): P.IDENTITIES_WRITE,
    ("GET", "/v1/identities/{identity_id}"): P.IDENTITIES_READ,
    ("PATCH", "/v1/identities/{identity_id}"): P.IDENTITIES_WRITE,
    ("DELETE", "/v1/identities/{identity_id}"): P.IDENTITIES_WRITE,
    ("POST", "/v1/identities/{identity_id}/faces"): P.IDENTITIES_WRITE,
    ("GET", "/v1/identities/{identity_id}/consents"): P.IDENTITIES_READ,
    ("POST", "/v1/identities/{identity_id}/consents"): P.IDENTITIES_WRITE,
    ("GET", "/v1/identities/{identity_id}/export"): P.IDENTITIES_READ,
    ("DELETE", "/v1/consents/{consent_id}"): P.IDENTITIES_WRITE,
    ("GET", "/v1/groups"): P.IDENTITIES_READ,
    ("POST", "/v1/groups"): P.IDENTITIES_WRITE,
    ("PUT", "/v1/groups/{name}/members/{identity_id}"): P.IDENTITIES_WRITE,
    ("DELETE", "/v1/groups/{name}/members/{identity_id}"): P.IDENTITIES_WRITE,
    ("POST", "/v1/search"): P.SEARCH,
    ("GET", "/v1/audit"): P.AUDIT_READ,
    ("GET", "/v1/audit/verify"): P.AUDIT_READ,
    ("GET", "/v1/keys"): P.KEYS_ADMIN,
    ("POST", "/v1/keys"): P.KEYS_ADMIN,
    ("DELETE", "/v1/keys/{key_id}"): P.KEYS_ADMIN,
    ("POST", "/v1/retention/purge"): P.RETENTION,
    ("POST", "/v1/effects"): P.ANALYZE,
    ("GET", "/v1/effects/catalogue"): P.ANALYZE,
    ("POST", "/v1/plates/read"): P.ANALYZE,
    ("GET", "/v1/plates/reads"): P.PLATES_SEARCH,
    ("GET", "/v1/plates/reads/{read_id}/crop"): P.PLATES_SEARCH,
    ("POST", "/v1/plates/retention/purge"): P.RETENTION,
    ("GET", "/v1/plates/hotlists"): P.HOTLISTS_READ,
    ("POST", "/v1/plates/hotlists"): P.HOTLISTS_WRITE,
    ("GET", "/v1/plates/hotlists/{hotlist_id}"): P.HOTLISTS_READ,
    ("PATCH", "/v1/plates/hotlists/{hotlist_id}"): P.HOTLISTS_WRITE,
    ("DELETE", "/v1/plates/hotlists/{hotlist_id}"): P.HOTLISTS_WRITE,
    ("POST", "/v1/plates/hotlists/{hotlist_id}/plates"): P.HOTLISTS_WRITE,
    ("DELETE", "/v1/plates/hotlists/{hotlist_id}/plates/{plate}"): P.HOTLISTS_WRITE,
    ("POST", "/v1/facepay/riders"): P.FACEPAY_WRITE,
    ("POST", "/v1/facepay/riders/register"): P.FACEPAY_WRITE,
    ("GET", "/v1/facepay/riders"): P.FACEPAY_READ,
    ("GET", "/v1/facepay/riders/{rider_id}"): P.FACEPAY_READ,
    ("DELETE", "/v1/facepay/riders/{rider_id}"): P.FACEPAY_WRITE,
    ("POST", "/v1/facepay/riders/{rider_id}/key"): P.FACEPAY_WRITE,
    ("GET", "/v1/facepay/accounts"): P.FACEPAY_READ,
    ("GET", "/v1/facepay/accounts/{rider_id}"): P.FACEPAY_READ,
    ("POST", "/v1/facepay/accounts/{rider_id}/top-ups"): P.FACEPAY_WRITE,
    ("GET", "/v1/facepay/gates"): P.FACEPAY_READ,
    ("POST", "/v1/facepay/gates"): P.FACEPAY_WRITE,
    ("DELETE", "/v1/facepay/gates/{gate_id}"): P.FACEPAY_WRITE,
    ("POST", "/v1/facepay/passages"): P.FACEPAY_GATE,
    ("GET", "/v1/facepay/passages"): P.FACEPAY_READ,
    ("GET", "/v1/facepay/passages/{passage_id}"): P.FACEPAY_READ,
    ("GET", "/v1/facepay/journeys"): P.FACEPAY_READ,
    ("POST", "/v1/facepay/housekeeping"): P.FACEPAY_WRITE,
    ("GET", "/v1/facepay/ledger"): P.FACEPAY_READ,
    ("POST", "/v1/facepay/refunds"): P.FACEPAY_WRITE,
    ("GET", "/v1/facepay/disputes"): P.FACEPAY_READ,
    ("POST", "/v1/facepay/disputes"): P.FACEPAY_WRITE,
    ("POST", "/v1/facepay/disputes/{dispute_id}/resolve"): P.FACEPAY_WRITE,
    ("GET", "/v1/facepay/disputes/{dispute_id}/evidence"): P.FACEPAY_WRITE,
    ("GET", "/v1/facepay/reports/daily"): P.FACEPAY_READ,
    ("GET", "/v1/facepay/fares"): P.FACEPAY_READ,
    ("GET", "/v1/photos/stats"): P.PHOTOS_READ,
    ("GET", "/v1/photos/people"): P.PHOTOS_READ,
    ("GET", "/v1/photos/people/{person_id}"): P.PHOTOS_READ,
    ("GET", "/v1/photos/people/{person_id}/photos"): P.PHOTOS_READ,
    ("GET", "/v1/photos/people/{person_id}/faces"): P.PHOTOS_READ,
    ("POST", "/v1/photos/people/{person_id}/name"): P.PHOTOS_WRITE,
    ("POST", "/v1/photos/people/{person_id}/merge"): P.PHOTOS_WRITE,
    ("POST", "/v1/photos/people/{person_id}/split"): P.PHOTOS_WRITE,
    ("DELETE", "/v1/photos/people/{person_id}"): P.PHOTOS_WRITE,
    ("POST", "/v1/photos/faces/{face_id}/move"): P.PHOTOS_WRITE,
    ("GET", "/v1/photos/faces/{face_id}/image"): P.PHOTOS_READ,
    ("GET", "/v1/photos/search"): P.PHOTOS_SEARCH,
    ("GET", "/v1/photos/{photo_id}/thumbnail"): P.PHOTOS_READ,
    ("POST", "/v1/photos/imports"): P.PHOTOS_IMPORT,
    ("GET", "/v1/photos/imports"): P.PHOTOS_IMPORT,
    ("POST", "/v1/kyc/sessions"): P.VERIFY_IDENTITY,
    ("GET", "/v1/kyc/sessions/{name}"): P.VERIFY_IDENTITY,
    ("POST", "/v1/kyc/sessions/{name}/submit"): P.SEARCH,  # and verify_identity: the duplicate search is 1:N
    ("POST", "/v1/login"): P.VERIFY_IDENTITY,
}
PATH_PARAMS = {"hotlist_id": "ab12", "read_id": "1", "plate": "AB123", "rider_id": "ab12", "gate_id": "G",
               "passage_id": "ab12", "dispute_id": "ab12", "video_id": "v1", "track_id": "1", "person_id": "ab12",
               "face_id": "1", "photo_id": "1"}


def _ops(c) -> set[tuple[str, str]]:
    spec = c.get("/openapi.json").json()
    return {(m.upper(), p) for p, item in spec["paths"].items() if p.startswith("/v1/") for m in item}


def test_every_v1_operation_needs_a_key(service):
    c, _ = service
    for method, path in sorted(_ops(c)):
        url = path.format(identity_id="x", consent_id="x", name="x", key_id="x", event_id="1", **PATH_PARAMS)
        r = c.request(method, url, json={})
        assert r.status_code == 401 and r.json()["code"] == "unauthorized", (method, path, r.status_code)


SERVICE_TAGS = {"service", "faces", "models", "keys", "identities", "groups", "search", "audit", "retention"}


def test_the_matrix_covers_the_service_routes(service):
    c, _ = service
    # routes other feature areas add (routes/*.py, own tags) are covered by the test
    # above; listing them in NEEDS checks their role mapping too
    spec = c.get("/openapi.json").json()
    mine = {
        (m.upper(), p)
        for p, item in spec["paths"].items()
        if p.startswith("/v1/")
        for m, op in item.items()
        if SERVICE_TAGS & set(op.get("tags", []))
    }
    assert mine and mine - set(NEEDS) == set(), "add the new operations to NEEDS"


@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize(("method", "path"), sorted(NEEDS))
def test_role_can_exactly_what_it_is_granted(service, role, method, path):
    c, keys = service
    url = path.format(identity_id="nobody", consent_id="none", name="nogroup", key_id="nokey", event_id="1",
                      **PATH_PARAMS)
    r = c.request(method, url, headers=keys[role], json={})
    need = NEEDS[(method, path)]
    allowed = need is None or need in ROLE_PERMISSIONS[Role(role)]
    forbidden = r.status_code == 403 and r.json().get("code") == "forbidden"
    assert forbidden is (not allowed), (role, method, path, r.status_code, r.text[:200])
    assert r.status_code < 500, r.text
