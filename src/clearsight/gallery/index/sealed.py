"""Index files encrypted at rest: AES-GCM in chunks, streamed through FAISS's own IO.

The vectors in an index file are rotated templates: without the key they cannot be
inverted, but they can still be linked within one gallery (same person, same vector),
and with the key file they can be inverted. So the file gets the same protection as the
database rows (issue 19 item 3). FAISS writes and reads through Python callbacks
(`PyCallbackIOWriter/Reader`), so a 20 GB index is sealed chunk by chunk and never held
twice in memory. Each chunk's nonce is a random file id plus its counter, and its
associated data names the file's purpose, the counter and whether it is the last chunk:
chunks cannot be reordered, spliced between files, or cut off at the end unnoticed.
"""

from __future__ import annotations

import os
import secrets
import struct
from pathlib import Path

import faiss
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"CSIDX1\n"
CHUNK = 4 * 1024 * 1024
_LEN = struct.Struct("<I")


class SealedIndexError(ValueError):
    """The file is not a sealed index for this key (wrong key, tampered, truncated)."""


def is_sealed(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


def _aad(aad: bytes, counter: int, last: bool) -> bytes:
    return aad + struct.pack("<Q?", counter, last)


def write_sealed(index: faiss.Index, path: Path, key: bytes, aad: bytes) -> None:
    """Write `index` to `path` (mode 0600) encrypted under `key`; fsync'd before returning."""
    aes = AESGCM(key)
    file_id = secrets.token_bytes(8)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(MAGIC + file_id)
        pending = bytearray()
        counter = 0

        def flush(last: bool) -> None:
            nonlocal counter
            while len(pending) >= CHUNK or last:
                body = bytes(pending[:CHUNK])
                del pending[:CHUNK]
                final = last and not pending
                ct = aes.encrypt(file_id + struct.pack("<I", counter), body, _aad(aad, counter, final))
                fh.write(_LEN.pack(len(ct)) + ct)
                counter += 1
                if final:
                    return

        def sink(b: bytes) -> int:
            pending.extend(b)
            if len(pending) >= CHUNK:
                flush(False)
            return len(b)

        writer = faiss.PyCallbackIOWriter(sink)
        faiss.write_index(index, writer)
        del writer
        flush(True)
        fh.flush()
        os.fsync(fh.fileno())


def read_sealed(path: Path, key: bytes, aad: bytes) -> faiss.Index:
    aes = AESGCM(key)
    with open(path, "rb") as fh:
        if fh.read(len(MAGIC)) != MAGIC:
            raise SealedIndexError(f"{path.name} is not a sealed index")
        file_id = fh.read(8)
        state = {"counter": 0, "buf": b"", "done": False}

        def next_chunk() -> None:
            head = fh.read(_LEN.size)
            if len(head) < _LEN.size:
                raise SealedIndexError("sealed index is truncated")
            ct = fh.read(_LEN.unpack(head)[0])
            n = state["counter"]
            nonce = file_id + struct.pack("<I", n)
            at_end = fh.peek(1)[:1] == b"" if hasattr(fh, "peek") else False
            try:
                body = aes.decrypt(nonce, ct, _aad(aad, n, at_end))
            except InvalidTag:
                raise SealedIndexError("sealed index does not open with this key (wrong key, tampered or truncated)") from None
            state["counter"] = n + 1
            state["buf"] += body
            state["done"] = at_end

        def source(n: int) -> bytes:
            while len(state["buf"]) < n and not state["done"]:
                next_chunk()
            out, state["buf"] = state["buf"][:n], state["buf"][n:]
            return out

        reader = faiss.PyCallbackIOReader(source)
        try:
            return faiss.read_index(reader)
        finally:
            del reader
