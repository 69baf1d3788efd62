import sqlite3

import pytest

from clearsight.errors import InputError
from clearsight.server.auth import ROLE_PERMISSIONS, KeyStore, Permission, RateLimiter, Role
from clearsight.server.errors import ApiError

pytestmark = pytest.mark.unit


def _url(path) -> str:
    return f"sqlite:///{path}"


def test_keys_are_stored_hashed_and_authenticate(tmp_path):
    store = KeyStore(_url(tmp_path / "keys.sqlite"))
    row, plain = store.create("operator", "kiosk")
    assert plain.startswith("cs_") and row.role is Role.OPERATOR
    secret = plain.split("_", 2)[2]
    # the secret never reaches the database file, only its hash
    store.close()
    raw = (tmp_path / "keys.sqlite").read_bytes()
    wal = tmp_path / "keys.sqlite-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert secret.encode() not in raw
    store = KeyStore(_url(tmp_path / "keys.sqlite"))
    assert store.authenticate(plain).id == row.id
    assert store.authenticate(plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None
    assert store.authenticate("cs_" + row.id) is None
    assert store.authenticate("not-a-key") is None
    db = sqlite3.connect(tmp_path / "keys.sqlite")
    (h,) = db.execute("SELECT secret_sha256 FROM api_keys").fetchone()
    assert len(h) == 64 and h != secret


def test_revoked_key_stops_working(tmp_path):
    store = KeyStore(_url(tmp_path / "k.sqlite"))
    row, plain = store.create(Role.CLIENT)
    assert store.authenticate(plain) is not None
    revoked = store.revoke(row.id)
    assert revoked.revoked_at is not None
    assert store.authenticate(plain) is None
    assert [k.id for k in store.list(include_revoked=False)] == []
    with pytest.raises(InputError):
        store.revoke("nope")


def test_unknown_role_and_bad_rate_limit_are_input_errors(tmp_path):
    store = KeyStore(_url(tmp_path / "k.sqlite"))
    with pytest.raises(InputError, match="unknown role"):
        store.create("root")
    with pytest.raises(InputError):
        store.create("client", rate_limit=0)


def test_least_privilege_matrix():
    client, auditor = ROLE_PERMISSIONS[Role.CLIENT], ROLE_PERMISSIONS[Role.AUDITOR]
    assert Permission.ANALYZE in client and Permission.IDENTITIES_READ not in client
    assert Permission.SEARCH not in client and Permission.AUDIT_READ not in client
    assert Permission.AUDIT_READ in auditor and Permission.SEARCH not in auditor
    assert Permission.ANALYZE not in auditor and Permission.IDENTITIES_WRITE not in auditor
    assert Permission.KEYS_ADMIN not in ROLE_PERMISSIONS[Role.OPERATOR]
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)


def test_rate_limiter_refuses_after_budget_with_retry_after():
    rl = RateLimiter()
    for _ in range(3):
        rl.check("k", 3)
    with pytest.raises(ApiError) as exc:
        rl.check("k", 3)
    assert exc.value.http_status == 429 and int(exc.value.headers["Retry-After"]) >= 1
    rl.check("other", 3)  # budgets are per key
