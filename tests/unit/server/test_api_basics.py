"""The service without models: auth, roles, problem+json for every error, limits, metrics."""

import base64
import json

import pytest

pytestmark = pytest.mark.unit


def test_health_is_public_and_ready_reports_loading(client_and_key):
    c, _ = client_and_key
    assert c.get("/healthz").json()["status"] == "ok"
    r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["ready"] is False  # warm-up disabled: models not loaded


def test_missing_bad_and_revoked_keys_are_401(client_and_key, assert_problem):
    c, key = client_and_key
    assert_problem(c.get("/v1/me"), 401, "unauthorized")
    assert_problem(c.get("/v1/me", headers={"Authorization": "Bearer cs_abc_def"}), 401)
    assert_problem(c.get("/v1/me", headers={"X-API-Key": "garbage"}), 401)
    h = key("client")
    me = c.get("/v1/me", headers=h).json()
    assert me["role"] == "client" and "faces:analyze" in me["permissions"]
    # the same key via X-API-Key
    assert c.get("/v1/me", headers={"X-API-Key": h["Authorization"].split()[1]}).status_code == 200
    c.app.state.clearsight.keys.revoke(me["id"])
    assert_problem(c.get("/v1/me", headers=h), 401)


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("client", "GET", "/v1/identities", None),
        ("client", "POST", "/v1/identities", {"display_name": "X"}),
        ("client", "DELETE", "/v1/identities/abc", None),
        ("client", "GET", "/v1/audit", None),
        ("client", "GET", "/v1/keys", None),
        ("auditor", "POST", "/v1/search", {"purpose": "login"}),
        ("auditor", "POST", "/v1/detect", {}),
        ("auditor", "POST", "/v1/identities", {"display_name": "X"}),
        ("auditor", "GET", "/v1/keys", None),
        ("operator", "GET", "/v1/audit", None),
        ("operator", "GET", "/v1/audit/verify", None),
        ("operator", "POST", "/v1/keys", {"role": "admin"}),
        ("client", "POST", "/v1/groups", {"name": "vip"}),
    ],
)
def test_forbidden_paths_are_403_before_any_work(client_and_key, role, method, path, body, assert_problem):
    c, key = client_and_key
    r = c.request(method, path, headers=key(role), json=body)
    p = assert_problem(r, 403, "forbidden")
    assert role in p["detail"]


def test_client_verify_against_identity_needs_no_listing_right_but_auditor_cannot_verify(client_and_key, assert_problem):
    c, key = client_and_key
    # auditor may not run faces through a model at all
    assert_problem(c.post("/v1/verify", headers=key("auditor"), json={"image_a": "aGk="}), 403)


def test_unknown_route_and_wrong_method_are_problems(client_and_key, assert_problem):
    c, _ = client_and_key
    assert_problem(c.get("/v1/nothing-here"), 404, "not_found")
    assert_problem(c.put("/healthz"), 405, "method_not_allowed")


def test_validation_errors_are_problems_without_echoing_input(client_and_key, assert_problem):
    c, key = client_and_key
    h = key("admin")
    r = c.post("/v1/keys", headers=h, json={"role": "superuser-secret-value"})
    p = assert_problem(r, 422, "invalid_request")
    assert "superuser-secret-value" not in r.text and p["errors"][0]["loc"][-1] == "role"
    r = c.get("/v1/identities?limit=-5", headers=h)
    assert_problem(r, 422, "invalid_request")
    # unknown parameter in an image request
    assert_problem(c.post("/v1/detect", headers=h, json={"image": "aGk=", "bogus": 1}), 422, "invalid_request")


def test_image_request_shapes_and_decode_errors(client_and_key, assert_problem):
    c, key = client_and_key
    h = key("client")
    assert_problem(c.post("/v1/detect", headers=h, json={}), 422, "image_required")
    assert_problem(c.post("/v1/detect", headers=h, json={"image": "!!!not base64"}), 422, "invalid_input")
    assert_problem(c.post("/v1/detect", headers=h, json=[1, 2]), 422, "invalid_input")
    assert_problem(
        c.post("/v1/detect", headers={**h, "Content-Type": "application/json"}, content=b"{nope"), 422, "invalid_input"
    )
    assert_problem(
        c.post("/v1/detect", headers={**h, "Content-Type": "text/plain"}, content=b"hello"), 415, "unsupported_media_type"
    )
    bad = base64.b64encode(b"this is not an image").decode()
    assert_problem(c.post("/v1/detect", headers=h, json={"image": bad}), 422, "image_decode_error")
    assert_problem(c.post("/v1/detect", headers=h, files={"image": ("x.jpg", b"\xff\xd8\xff garbage")}), 422)
    r = c.post("/v1/detect", headers=h, json={"image": "data:image/png;base64," + bad})
    assert_problem(r, 422, "image_decode_error")


def test_request_body_limit_is_413_problem(make_client, assert_problem):
    c, key = make_client(max_request_bytes=10_000)
    h = key("client")
    r = c.post("/v1/detect", headers=h, files={"image": ("big.jpg", b"\0" * 50_000)})
    assert_problem(r, 413, "request_too_large")
    r = c.post("/v1/detect", headers=h, json={"image": "A" * 20_000})
    assert_problem(r, 413, "request_too_large")


def test_rate_limit_per_key_is_429_problem(client_and_key, assert_problem):
    c, key = client_and_key
    h = key("client", rate_limit=2)
    other = key("client", rate_limit=2)
    assert c.get("/v1/me", headers=h).status_code == 200
    assert c.get("/v1/me", headers=h).status_code == 200
    r = c.get("/v1/me", headers=h)
    assert_problem(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
    assert c.get("/v1/me", headers=other).status_code == 200


def test_unexpected_exception_is_a_bare_500_problem(client_and_key, assert_problem):
    c, _ = client_and_key

    def boom():
        raise RuntimeError("secret internal detail /etc/passwd")

    c.app.add_api_route("/boom", boom)
    r = c.get("/boom")
    p = assert_problem(r, 500, "internal_error")
    assert "secret" not in r.text and "RuntimeError" not in r.text and "request id" in p["detail"]


def test_keys_api_create_list_revoke(client_and_key, assert_problem):
    c, key = client_and_key
    h = key("admin")
    r = c.post("/v1/keys", headers=h, json={"role": "auditor", "name": "compliance"})
    assert r.status_code == 201
    created = r.json()
    assert created["key"].startswith("cs_") and created["role"] == "auditor"
    listed = c.get("/v1/keys", headers=h).json()
    assert any(k["id"] == created["id"] for k in listed) and all("key" not in k for k in listed)
    auditor = {"X-API-Key": created["key"]}
    assert c.get("/v1/me", headers=auditor).json()["role"] == "auditor"
    assert c.delete(f"/v1/keys/{created['id']}", headers=h).json()["revoked_at"]
    assert_problem(c.get("/v1/me", headers=auditor), 401)
    assert_problem(c.delete("/v1/keys/doesnotexist", headers=h), 404, "api_key_not_found")


def test_cors_is_off_by_default_and_configurable(make_client):
    c, _ = make_client()
    r = c.options("/v1/me", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in r.headers
    c2, _ = make_client(cors_origins=["https://app.example"])
    r = c2.options("/v1/me", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
    assert r.headers["access-control-allow-origin"] == "https://app.example"


def test_metrics_count_requests_by_route_template(client_and_key):
    c, key = client_and_key
    c.get("/v1/me", headers=key("client"))
    c.get("/v1/identities/abc123")  # 401, but labelled by template not id
    text = c.get("/metrics").text
    assert 'route="/v1/me",status="200"' in text
    assert 'route="/v1/identities/{identity_id}"' in text and "abc123" not in text
    assert "clearsight_ready 0.0" in text


def test_console_and_offline_docs_are_served(client_and_key):
    c, _ = client_and_key
    r = c.get("/")
    assert r.status_code == 200 and "Clearsight" in r.text and "/console/static/app.js" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert c.get("/console/static/app.js").status_code == 200


def test_api_docs_are_served_without_a_cdn(client_and_key):
    pytest.importorskip("fastapi_offline", reason="fastapi-offline (Swagger UI files) not installed")
    c, _ = client_and_key
    docs = c.get("/docs").text
    assert "/_docs/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert c.get("/_docs/swagger-ui-bundle.js").status_code == 200


def test_openapi_documents_both_image_body_shapes_and_problem_errors(client_and_key):
    c, _ = client_and_key
    spec = c.get("/openapi.json").json()
    body = spec["paths"]["/v1/verify"]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "application/json"}
    assert body["multipart/form-data"]["schema"]["properties"]["image_a"]["format"] == "binary"
    assert "application/problem+json" in spec["paths"]["/v1/detect"]["post"]["responses"]["422"]["content"]
    assert json.dumps(spec).count("bearer") >= 1


def _unbounded_integers(schema: dict, spec: dict, where: str, seen: set) -> list[str]:
    """Integer inputs without a maximum, following $refs, arrays and anyOf (pydantic's `int | None`)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return _unbounded_integers(spec["components"]["schemas"][name], spec, f"{where}<{name}>", seen)
    out = []
    if schema.get("type") == "integer" and "maximum" not in schema and "exclusiveMaximum" not in schema:
        out.append(where)
    for sub in schema.get("anyOf", []) + schema.get("allOf", []) + schema.get("oneOf", []):
        out += _unbounded_integers(sub, spec, where, seen)
    if "items" in schema:
        out += _unbounded_integers(schema["items"], spec, f"{where}[]", seen)
    for prop, sub in schema.get("properties", {}).items():
        out += _unbounded_integers(sub, spec, f"{where}.{prop}", seen)
    return out


def test_every_integer_input_has_a_maximum_so_the_database_never_overflows(client_and_key):
    """An id past 2**63 reached SQLite and came back as a 500; every integer a client sends must be bounded."""
    c, _ = client_and_key
    spec = c.get("/openapi.json").json()
    unbounded = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                unbounded += _unbounded_integers(p.get("schema", {}), spec, f"{method.upper()} {path} {p['name']}", set())
            for media in op.get("requestBody", {}).get("content", {}).values():
                unbounded += _unbounded_integers(media.get("schema", {}), spec, f"{method.upper()} {path} body", set())
    assert unbounded == [], "\n".join(unbounded)


def test_an_id_too_large_for_the_database_is_a_422_not_a_500(client_and_key):
    c, key = client_and_key
    r = c.get(f"/v1/photos/faces/{2**63}/image", headers=key("admin"))
    assert r.status_code == 422, r.text
