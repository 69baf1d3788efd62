"""Small symmetric keys kept in files: created once, 0600, never in the database they protect."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import ClearsightError


class SecretKeyError(ClearsightError):
    code = "secret_key_error"
    exit_code = 3
    http_status = 500


def load_or_create_key(path: Path) -> bytes:
    """The 32-byte key in `path`, created (atomically, 0600) on first use."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # first writer wins; a concurrent creator reads the winner's key
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        data = path.read_bytes()
    try:
        key = bytes.fromhex(data.decode().strip())
    except ValueError:
        raise SecretKeyError(f"{path} does not hold a hex key") from None
    if len(key) != 32:
        raise SecretKeyError(f"{path} does not hold a 32-byte key")
    return key


class SealedBlob:
    """AES-GCM for small blobs (event snapshots): `seal` and `open`, with a marker so blobs
    written before encryption still open."""

    MAGIC = b"CSSB1"

    def __init__(self, key: bytes, purpose: bytes) -> None:
        self._aes = AESGCM(key)
        self._aad = purpose

    def seal(self, data: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return self.MAGIC + nonce + self._aes.encrypt(nonce, data, self._aad)

    def open(self, blob: bytes) -> bytes:
        if not blob.startswith(self.MAGIC):
            return blob  # stored before snapshots were encrypted
        nonce, ct = blob[len(self.MAGIC):len(self.MAGIC) + 12], blob[len(self.MAGIC) + 12:]
        try:
            return self._aes.decrypt(nonce, ct, self._aad)
        except InvalidTag:
            raise SecretKeyError("a stored snapshot does not open with this key") from None
