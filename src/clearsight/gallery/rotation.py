"""Key rotation: re-protect every template under a new key while the gallery keeps serving.

Why: rotating is how template protection revokes copies (an old backup, a leaked
index file): after it, nothing protected by the old key matches anything. It touches
every part at once (key file, store rows, index domain), so its ordering, the
add-only key ring during the re-encryption and the final swap under the index lock,
lives in one place.
"""

from __future__ import annotations

from sqlalchemy import select

from ..errors import InputError
from .protection import Protector, TemplateKeys, add_key_to_file, drop_keys_from_file, load_keyring
from .records import RotationReport
from .repository import IdentityRepository
from .store import TemplateRow
from .sync import IndexSync, template_aad

def _reprotect(row: TemplateRow, prot: Protector) -> None:
    aad = template_aad(row.identity_id, row.model)
    raw = prot.decrypt(row.key_id, row.nonce, row.ciphertext, aad) @ prot.matrix(row.key_id, row.dim)
    row.key_id, row.nonce, row.ciphertext = prot.encrypt(prot.transform(raw), aad)


def rotate_key(repo: IdentityRepository, keys: TemplateKeys, sync: IndexSync, actor: str,
               new_key: bytes | None = None, batch: int = 1000) -> RotationReport:
    with sync.lock:
        old_ring = keys.protector.ring
        if old_ring.source == "env":
            if new_key is not None:
                raise InputError("with CLEARSIGHT_TEMPLATE_KEY set, rotate by changing the environment")
        else:
            add_key_to_file(keys.path, new_key)
        new = load_keyring(keys.path)
        newp = Protector(new)
        old_ids = [k for k in new.keys if k != new.active]
        # Until the swap, searches stay in the old key's domain but must read rows
        # already re-protected under the new key: teach the live ring (which searches
        # in flight hold) the new key, add-only, without changing its active key.
        old_ring.keys.update(new.keys)
        old_ring.mtime = new.mtime
    repo.record(actor, "keys.rotate", outcome="started", details={"new_key_id": new.active})
    done = last = 0
    while True:  # re-protect in batches; enrolments continue meanwhile
        with repo.transaction() as s:
            rows = s.execute(select(TemplateRow).where(TemplateRow.id > last, TemplateRow.key_id != new.active)
                             .order_by(TemplateRow.id).limit(batch)).scalars().all()
            if not rows:
                break
            for r in rows:
                _reprotect(r, newp)
            done += len(rows)
            last = rows[-1].id
    with sync.lock:  # swap: new enrolments and searches use the new key from here on
        keys.protector = newp
        sync.drop_index()
        sync.ensure()
        with repo.transaction() as s:  # templates enrolled under the old key during the loop
            for r in s.execute(select(TemplateRow).where(TemplateRow.key_id != new.active)).scalars():
                _reprotect(r, newp)
                done += 1
        if sync.index is not None:
            sync.reconcile()
        if new.source != "env" and old_ids:
            drop_keys_from_file(keys.path, old_ids)
            keys.protector = Protector(load_keyring(keys.path))
        repo.record(actor, "keys.rotate", outcome="ok",
                    details={"new_key_id": new.active, "retired": old_ids, "templates": done})
        # index files of retired keys: <model>.<key>.faiss.g<gen>.<shard> and their manifest
        idir = sync.settings.gallery_index_dir()
        for p in idir.iterdir() if idir.exists() else ():
            if any(f".{k}." in p.name for k in old_ids):
                p.unlink(missing_ok=True)
    return RotationReport(old_key_ids=old_ids, new_key_id=new.active, templates_reprotected=done)
