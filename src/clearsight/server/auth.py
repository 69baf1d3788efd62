"""API keys with roles, stored hashed, and per-key rate limits.

A key looks like `cs_<id>_<secret>`: the id finds the row, the 256-bit secret is
checked against its SHA-256 in constant time. Keys are random, not passwords, so a
fast hash is enough, and a stolen key file yields nothing usable. The plain key is
shown once, when it is created.

Roles are sets of permissions (least privilege): a client can analyse and verify
faces but cannot list identities; an auditor reads the audit log but cannot search.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from ..db import SqliteSynchronous, connect, session_factory
from ..db.tables.keys import ApiKeyRow
from ..errors import InputError
from .errors import ApiError

if TYPE_CHECKING:
    from ..config import Settings


class Role(str, Enum):
    ADMIN = "admin"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    CLIENT = "client"


class Permission(str, Enum):
    ANALYZE = "faces:analyze"  # detect, embed, verify two photos
    VERIFY_IDENTITY = "faces:verify_identity"  # 1:1 against an enrolled identity (audited)
    IDENTITIES_READ = "identities:read"
    IDENTITIES_WRITE = "identities:write"  # create, enrol, consent, groups, erase
    SEARCH = "gallery:search"  # 1:N identification (audited)
    AUDIT_READ = "audit:read"
    MODELS_READ = "models:read"
    KEYS_ADMIN = "keys:admin"
    RETENTION = "retention:purge"
    CAMERAS_READ = "cameras:read"  # camera list, status, live view, rules
    CAMERAS_WRITE = "cameras:write"  # add/edit/remove/start/stop cameras, edit rules
    EVENTS_READ = "events:read"  # the event timeline, its snapshots, the live event stream
    PLATES_SEARCH = "plates:search"  # past plate reads and their crops (personal data: audited)
    HOTLISTS_READ = "plates:hotlists_read"  # hot-lists, their plates and legal basis
    HOTLISTS_WRITE = "plates:hotlists_write"  # create, change, delete hot-lists (audited)
    FACEPAY_READ = "facepay:read"  # riders, balances, journeys, passages, the ledger, reports
    FACEPAY_WRITE = "facepay:write"  # enrol riders, top up, gates, refunds, disputes, erasure (audited)
    FACEPAY_GATE = "facepay:gate"  # a gate submits passages: identifies riders and moves money
    FOOTAGE_INDEX = "footage:index"  # index video files under the media roots; list and erase indexed videos
    FOOTAGE_SEARCH = "footage:search"  # find a person in indexed footage (investigation/missing_person; audited)
    PHOTOS_READ = "photos:read"  # the photo library's people, their faces and photos (browsing, no search)
    PHOTOS_WRITE = "photos:write"  # name (with a basis), merge, split, move, erase library people (audited)
    PHOTOS_SEARCH = "photos:search"  # photos of named people, by date (audited)
    PHOTOS_IMPORT = "photos:import"  # import folders under the media roots into the photo library (opens local files)


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset(
        {
            Permission.ANALYZE,
            Permission.VERIFY_IDENTITY,
            Permission.IDENTITIES_READ,
            Permission.IDENTITIES_WRITE,
            Permission.SEARCH,
            Permission.MODELS_READ,
            Permission.CAMERAS_READ,
            Permission.CAMERAS_WRITE,
            Permission.EVENTS_READ,
            Permission.PLATES_SEARCH,
            Permission.HOTLISTS_READ,
            Permission.HOTLISTS_WRITE,
            Permission.FACEPAY_READ,
            Permission.FACEPAY_WRITE,
            Permission.FACEPAY_GATE,
            Permission.FOOTAGE_SEARCH,
            Permission.PHOTOS_READ,
            Permission.PHOTOS_WRITE,
            Permission.PHOTOS_SEARCH,
        }
    ),
    # Reviews consents, the audit trail and what the cameras reported; never runs a face through a model.
    Role.AUDITOR: frozenset(
        {Permission.AUDIT_READ, Permission.IDENTITIES_READ, Permission.MODELS_READ, Permission.EVENTS_READ,
         Permission.HOTLISTS_READ, Permission.FACEPAY_READ}
    ),
    Role.CLIENT: frozenset({Permission.ANALYZE, Permission.VERIFY_IDENTITY, Permission.MODELS_READ}),
}


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    role: Role
    created_at: str
    revoked_at: str | None = None
    last_used_at: str | None = None
    rate_limit: int | None = None  # requests/minute; None: the role's default

    @property
    def actor(self) -> str:
        """How this key appears in the audit log."""
        return f"key:{self.id}"

    def can(self, permission: Permission) -> bool:
        return self.revoked_at is None and permission in ROLE_PERMISSIONS[self.role]

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "last_used_at": self.last_used_at,
            "rate_limit": self.rate_limit,
            "permissions": sorted(p.value for p in ROLE_PERMISSIONS[self.role]),
        }


KEY_PREFIX = "cs_"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InputError(f"unknown role {value!r}; choose from {', '.join(r.value for r in Role)}") from None


class KeyStore:
    """API keys in the main database (`api_keys`, beside the gallery), on any SQLAlchemy URL."""

    def __init__(self, url: str, *, sqlite_synchronous: SqliteSynchronous = "FULL") -> None:
        self.url = url
        self._engine = connect(url, "main", sqlite_synchronous=sqlite_synchronous)
        self._Session = session_factory(self._engine)
        self._last_touch: dict[str, float] = {}

    @classmethod
    def open(cls, settings: Settings) -> KeyStore:
        """The key store of `settings`' main database (what the service and `clearsight keys` share)."""
        return cls(settings.gallery_database_url(), sqlite_synchronous=settings.gallery.sqlite_synchronous)

    def close(self) -> None:
        """Release the connections; the store reconnects on next use (an app restarted in-process)."""
        self._engine.dispose()

    def create(self, role: Role | str, name: str = "", rate_limit: int | None = None) -> tuple[ApiKey, str]:
        """A new key and its plain text (shown once, never stored)."""
        role = role if isinstance(role, Role) else parse_role(role)
        if rate_limit is not None and rate_limit <= 0:
            raise InputError("rate limit must be a positive number of requests per minute")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        key = ApiKey(id=key_id, name=name or f"{role.value} key", role=role, created_at=_now(), rate_limit=rate_limit)
        with self._Session.begin() as s:
            s.add(ApiKeyRow(id=key.id, name=key.name, role=key.role.value, secret_sha256=_hash(secret),
                            created_at=key.created_at, rate_limit=rate_limit))
        return key, f"{KEY_PREFIX}{key_id}_{secret}"

    @staticmethod
    def _key(r: ApiKeyRow) -> ApiKey:
        return ApiKey(id=r.id, name=r.name, role=Role(r.role), created_at=r.created_at, revoked_at=r.revoked_at,
                      last_used_at=r.last_used_at, rate_limit=r.rate_limit)

    def list(self, include_revoked: bool = True) -> list[ApiKey]:
        q = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
        if not include_revoked:
            q = q.where(ApiKeyRow.revoked_at.is_(None))
        with self._Session() as s:
            return [self._key(r) for r in s.scalars(q)]

    def get(self, key_id: str) -> ApiKey | None:
        with self._Session() as s:
            r = s.get(ApiKeyRow, key_id)
            return self._key(r) if r is not None else None

    def revoke(self, key_id: str) -> ApiKey:
        with self._Session.begin() as s:
            r = s.get(ApiKeyRow, key_id)
            if r is None:
                raise KeyNotFoundError(f"no API key with id {key_id!r}")
            if r.revoked_at is None:
                r.revoked_at = _now()
            return self._key(r)

    def has_active_admin(self) -> bool:
        q = select(ApiKeyRow.id).where(ApiKeyRow.role == Role.ADMIN.value, ApiKeyRow.revoked_at.is_(None)).limit(1)
        with self._Session() as s:
            return s.scalar(q) is not None

    def authenticate(self, token: str) -> ApiKey | None:
        """The active key this token proves, or None. Constant-time secret check."""
        if not token.startswith(KEY_PREFIX):
            return None
        key_id, sep, secret = token[len(KEY_PREFIX) :].partition("_")
        if not sep or not key_id or not secret or len(token) > 200:
            return None
        with self._Session() as s:
            r = s.get(ApiKeyRow, key_id)
            if r is None or not hmac.compare_digest(r.secret_sha256, _hash(secret)):
                return None
            key = self._key(r)
        if key.revoked_at is not None:
            return None
        self._touch(key.id)
        return key

    def _touch(self, key_id: str) -> None:
        # last_used_at at minute resolution: one write per key per minute, not per request
        now = time.monotonic()
        if now - self._last_touch.get(key_id, -1e9) < 60:
            return
        self._last_touch[key_id] = now
        with self._Session.begin() as s:
            s.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=_now()))


class KeyNotFoundError(InputError):
    code = "api_key_not_found"
    http_status = 404


class RateLimiter:
    """A token bucket per name (a key id, a client address): `limit` a minute, bursts up to `limit`."""

    MAX_BUCKETS = 10_000  # past this, buckets that have refilled are forgotten

    def __init__(self, what: str = "requests") -> None:
        self.what = what
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _tokens(self, name: str, per_minute: int, now: float) -> float:
        tokens, last = self._buckets.get(name, (float(per_minute), now))
        return min(float(per_minute), tokens + (now - last) * per_minute / 60.0)

    def _refuse(self, tokens: float, per_minute: int) -> ApiError:
        wait = max(1, int((1.0 - tokens) / (per_minute / 60.0) + 0.999))
        return ApiError(
            429,
            "rate_limited",
            f"rate limit of {per_minute} {self.what} per minute exceeded; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )

    def check(self, name: str, per_minute: int) -> None:
        """Take one token, or refuse with a 429 problem."""
        now = time.monotonic()
        with self._lock:
            tokens = self._tokens(name, per_minute, now)
            if tokens < 1.0:
                self._buckets[name] = (tokens, now)
                raise self._refuse(tokens, per_minute)
            self._buckets[name] = (tokens - 1.0, now)
            if len(self._buckets) > self.MAX_BUCKETS:
                self._forget_full(per_minute, now)

    def ensure_available(self, name: str, per_minute: int) -> None:
        """Refuse with a 429 problem when no token is left; take none."""
        now = time.monotonic()
        with self._lock:
            tokens = self._tokens(name, per_minute, now)
        if tokens < 1.0:
            raise self._refuse(tokens, per_minute)

    def _forget_full(self, per_minute: int, now: float) -> None:
        for name in [n for n in self._buckets if self._tokens(n, per_minute, now) >= per_minute]:
            del self._buckets[name]


# -------------------------------------------------------------------- stream tickets
TICKET_TTL_S = 600
TICKET_PATTERN = re.compile(r"(ticket=)[^&\s\"]*")


class StreamTickets:
    """Tickets that open one stream each, for browsers: `<img src>` and `EventSource`
    cannot send the key in a header, and a key must never appear in a URL.

    A ticket is `<key id>.<expiry>.<nonce>.<HMAC>`, signed with a per-process secret;
    it carries the key's id, so the stream is authorised (and re-checked while open)
    as that key. Redeeming spends it: a ticket copied from a log, a proxy or the
    browser history opens nothing.
    """

    def __init__(self, ttl_s: int = TICKET_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._secret = secrets.token_bytes(32)
        self._spent: dict[str, int] = {}  # nonce -> expiry, forgotten once expired
        self._lock = threading.Lock()

    def _sign(self, key_id: str, expires: int, nonce: str) -> str:
        return hmac.new(self._secret, f"{key_id}.{expires}.{nonce}".encode(), hashlib.sha256).hexdigest()

    def issue(self, key: ApiKey) -> tuple[str, int]:
        """(ticket, expiry as Unix time)."""
        expires = int(time.time()) + self.ttl_s
        nonce = secrets.token_hex(8)
        return f"{key.id}.{expires}.{nonce}.{self._sign(key.id, expires, nonce)}", expires

    def redeem(self, ticket: str) -> str:
        """The key id a valid, unspent ticket names; spends it."""
        parts = ticket.split(".")
        if len(parts) != 4 or not parts[1].isdigit():
            raise unauthorized("the stream ticket is not valid")
        key_id, exp, nonce, sig = parts
        if not hmac.compare_digest(sig, self._sign(key_id, int(exp), nonce)):
            raise unauthorized("the stream ticket is not valid")
        now = int(time.time())
        if int(exp) < now:
            raise unauthorized("the stream ticket has expired; ask for a new one")
        with self._lock:
            for n in [n for n, e in self._spent.items() if e < now]:
                del self._spent[n]
            if nonce in self._spent:
                raise unauthorized("the stream ticket was used already; ask for a new one for each stream")
            self._spent[nonce] = int(exp)
        return key_id


class RedactTickets(logging.Filter):
    """Keeps stream tickets out of access logs (uvicorn logs each request's query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, str) and "ticket=" in a for a in record.args):
            record.args = tuple(TICKET_PATTERN.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str) and "ticket=" in record.msg:
            record.msg = TICKET_PATTERN.sub(r"\1[redacted]", record.msg)
        return True


def redact_tickets_in_access_log(logger_name: str = "uvicorn.access") -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactTickets) for f in logger.filters):
        logger.addFilter(RedactTickets())


def unauthorized(detail: str) -> ApiError:
    return ApiError(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="clearsight"'})


def forbidden(key: ApiKey, permission: Permission) -> ApiError:
    return ApiError(
        403,
        "forbidden",
        f"the {key.role.value} role may not do this (needs {permission.value})",
    )
