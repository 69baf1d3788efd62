"""Template protection: a keyed orthogonal transform, then AES-GCM at rest.

* The transform R (a random orthogonal matrix derived from the key) preserves
  cosine similarity, so the index searches protected vectors directly; templates
  taken from this system do not match templates of another system or of the same
  system after re-keying (revocation).
* AES-GCM encrypts the transformed vector in the database, bound (associated data)
  to its identity and model, so a stolen database, backup or row swap yields
  nothing usable without the key, which never lives in the database.

Keys come from `CLEARSIGHT_TEMPLATE_KEY` (base64 or hex, 32 bytes; previous keys in
`CLEARSIGHT_TEMPLATE_KEY_PREVIOUS`, comma separated, while rotating) or from a key
file created 0600 on first start. Each key is known by a short id stored with
every template, so several keys coexist during rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import TemplateKeyError

ENV_KEY = "CLEARSIGHT_TEMPLATE_KEY"
ENV_PREVIOUS = "CLEARSIGHT_TEMPLATE_KEY_PREVIOUS"


def key_id(master: bytes) -> str:
    return hashlib.sha256(b"clearsight/template-key-id/" + master).hexdigest()[:16]


def _hkdf(master: bytes, info: bytes, n: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=n, salt=None, info=info).derive(master)


def decode_key(text: str) -> bytes:
    text = text.strip()
    for decode in (bytes.fromhex, lambda s: base64.b64decode(s, validate=True), lambda s: base64.urlsafe_b64decode(s)):
        try:
            raw = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(raw) == 32:
            return raw
    raise TemplateKeyError("template key must be 32 bytes, hex or base64 encoded")


def encode_key(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def orthogonal_matrix(master: bytes, dim: int) -> np.ndarray:
    """A key-derived Haar-random orthogonal matrix, identical on every platform:
    the Gaussian draws come from SHAKE-256 (not numpy's RNG, whose streams may change)."""
    seed = _hkdf(master, b"clearsight/template/orthogonal/%d" % dim)
    raw = np.frombuffer(hashlib.shake_256(seed).digest(dim * dim * 8), dtype="<u4").astype(np.float64)
    u = (raw + 0.5) / 2.0**32
    u1, u2 = u[0::2], u[1::2]
    g = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    q, r = np.linalg.qr(g.reshape(dim, dim))
    q *= np.sign(np.diag(r))  # unique Q for a given Gaussian matrix
    return q.astype(np.float32)


@dataclass
class KeyRing:
    keys: dict[str, bytes]
    active: str
    source: str  # "env" or the key file path
    mtime: float = 0.0


def _write_ring_file(path: Path, keys: dict[str, bytes], active: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    body = json.dumps({"format": 1, "active": active, "keys": {k: encode_key(v) for k, v in keys.items()}}, indent=1)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, body.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _read_ring_file(path: Path) -> KeyRing:
    st = path.stat()
    if st.st_mode & 0o077:
        raise TemplateKeyError(f"template key file {path} is readable by others; run: chmod 600 {path}")
    try:
        data = json.loads(path.read_text())
        keys = {k: base64.b64decode(v) for k, v in data["keys"].items()}
        active = data["active"]
    except (ValueError, KeyError, TypeError) as exc:
        raise TemplateKeyError(f"template key file {path} is corrupt: {exc}") from None
    for kid, raw in keys.items():
        if key_id(raw) != kid:
            raise TemplateKeyError(f"template key file {path}: key {kid} does not match its id")
    if active not in keys:
        raise TemplateKeyError(f"template key file {path}: active key {active} missing")
    return KeyRing(keys, active, str(path), st.st_mtime)


def load_keyring(path: Path) -> KeyRing:
    env = os.environ.get(ENV_KEY)
    if env:
        active = decode_key(env)
        keys = {key_id(active): active}
        for prev in filter(None, (s.strip() for s in os.environ.get(ENV_PREVIOUS, "").split(","))):
            raw = decode_key(prev)
            keys[key_id(raw)] = raw
        return KeyRing(keys, key_id(active), "env")
    if not path.exists():
        raw = secrets.token_bytes(32)
        kid = key_id(raw)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two processes starting at once agree on one key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps({"format": 1, "active": kid, "keys": {kid: encode_key(raw)}}, indent=1))
                f.flush()
                os.fsync(f.fileno())
    return _read_ring_file(path)


def add_key_to_file(path: Path, raw: bytes | None = None) -> str:
    """Add a new key and make it active (old keys stay until rotation finishes)."""
    ring = _read_ring_file(path)
    raw = raw or secrets.token_bytes(32)
    kid = key_id(raw)
    keys = dict(ring.keys)
    keys[kid] = raw
    _write_ring_file(path, keys, kid)
    return kid


def drop_keys_from_file(path: Path, key_ids: list[str]) -> None:
    ring = _read_ring_file(path)
    keys = {k: v for k, v in ring.keys.items() if k not in key_ids or k == ring.active}
    _write_ring_file(path, keys, ring.active)


@dataclass
class Protector:
    """Protects and recovers templates with the keys of one key ring."""

    ring: KeyRing
    _mats: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    _aes: dict[str, AESGCM] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def active(self) -> str:
        return self.ring.active

    def _key(self, kid: str) -> bytes:
        try:
            return self.ring.keys[kid]
        except KeyError:
            raise TemplateKeyError(
                f"template key {kid} is not available (rotated away, or the wrong key is configured)"
            ) from None

    def matrix(self, kid: str, dim: int) -> np.ndarray:
        with self._lock:
            m = self._mats.get((kid, dim))
            if m is None:
                m = self._mats[(kid, dim)] = orthogonal_matrix(self._key(kid), dim)
            return m

    def _cipher(self, kid: str) -> AESGCM:
        with self._lock:
            c = self._aes.get(kid)
            if c is None:
                c = self._aes[kid] = AESGCM(_hkdf(self._key(kid), b"clearsight/template/aes-gcm"))
            return c

    def file_key(self, kid: str | None = None) -> bytes:
        """The key that seals files derived from templates of key `kid` (the index files):
        its own HKDF label, so it never equals the row-encryption key."""
        return _hkdf(self._key(kid or self.active), b"clearsight/index-file/aes-gcm")

    def transform(self, vectors: np.ndarray, kid: str | None = None) -> np.ndarray:
        """Row vectors into the protected domain of key `kid` (default: active)."""
        v = np.asarray(vectors, dtype=np.float32)
        m = self.matrix(kid or self.active, v.shape[-1])
        return (v @ m.T).astype(np.float32)

    def encrypt(self, transformed: np.ndarray, aad: bytes, kid: str | None = None) -> tuple[str, bytes, bytes]:
        kid = kid or self.active
        nonce = secrets.token_bytes(12)
        ct = self._cipher(kid).encrypt(nonce, np.asarray(transformed, dtype="<f4").tobytes(), aad)
        return kid, nonce, ct

    def protect(self, vector: np.ndarray, aad: bytes) -> tuple[str, bytes, bytes]:
        return self.encrypt(self.transform(vector), aad)

    def decrypt(self, kid: str, nonce: bytes, ct: bytes, aad: bytes) -> np.ndarray:
        """The stored (transformed) vector, in key `kid`'s domain."""
        try:
            raw = self._cipher(kid).decrypt(nonce, ct, aad)
        except InvalidTag:
            raise TemplateKeyError("a template failed authentication: wrong key or tampered row") from None
        return np.frombuffer(raw, dtype="<f4").astype(np.float32)

    def to_active(self, kid: str, nonce: bytes, ct: bytes, aad: bytes) -> np.ndarray:
        """A stored template in the active key's domain (re-keyed on the fly mid-rotation)."""
        t = self.decrypt(kid, nonce, ct, aad)
        if kid == self.active:
            return t
        return self.transform(t @ self.matrix(kid, t.shape[0]), self.active)

    def encrypt_blob(self, data: bytes, aad: bytes) -> bytes:
        kid, nonce = self.active, secrets.token_bytes(12)
        return kid.encode() + b":" + nonce + self._cipher(kid).encrypt(nonce, data, aad)

    def decrypt_blob(self, blob: bytes, aad: bytes) -> bytes:
        kid, rest = blob.split(b":", 1)
        try:
            return self._cipher(kid.decode()).decrypt(rest[:12], rest[12:], aad)
        except InvalidTag:
            raise TemplateKeyError("a stored image failed authentication") from None


class TemplateKeys:
    """The live key ring of one open gallery, shared by its sync, searcher and rotation.

    `protector` is swapped whole (never mutated into a new domain), so a reader that
    took it once stays in one key domain for a whole search or enrolment."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.protector = Protector(load_keyring(path))

    @property
    def active(self) -> str:
        return self.protector.active

    def follow_file(self) -> bool:
        """Another process rotated the key file: follow it. True when the active key changed
        (the index of the old domain is then stale)."""
        ring = self.protector.ring
        if ring.source == "env":
            return False
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            return False
        if mtime == ring.mtime:
            return False
        new = load_keyring(self.path)
        if new.active != ring.active or set(new.keys) != set(ring.keys):
            self.protector = Protector(new)
            return new.active != ring.active
        ring.mtime = mtime
        return False
