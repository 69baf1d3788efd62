"""The gallery facade: identities, consent, enrolment, 1:N search, erasure, audit.

The SQL store is the truth; the vector index is derived from it. Writes commit
the row and its audit entry in one transaction first and touch the index after,
so a crash can leave the index behind the store but never ahead of it, and the
start-up reconcile (and the check before each search) catches it up. Search
re-scores its shortlist exactly from the stored templates and filters it in SQL
(consent for the purpose, group membership, identity still present), so an
erased or unconsented identity can never come back even from a stale index.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from ..config import Settings, get_settings
from ..settings import GallerySettings
from ..errors import IncompatibleTemplatesError, InputError, ModelError
from ..face.verification import operating_point, strongest_operating_point
from ..face.verification import operating_point as _operating_point  # `verify` has a parameter of that name
from ..types import Decision, Embedding, Match, QualityReport
from . import audit as audit_log
from .consent import Purpose, parse_expiry, parse_purpose, to_consent, valid_consent_clause
from .errors import ConflictError, ConsentRequiredError, NotFoundError, QualityRejectedError, TemplateKeyError
from .index.base import VectorIndex, create_index, reconcile
from .protection import Protector, add_key_to_file, drop_keys_from_file, load_keyring
from .records import (
    AuditEntry,
    AuditVerification,
    Consent,
    EnrolResult,
    Group,
    Identity,
    IdentityVerification,
    PurgeReport,
    RotationReport,
)
from .store import (
    ConsentRow,
    GroupMemberRow,
    GroupRow,
    IdentityRow,
    TemplateRow,
    as_utc,
    make_engine,
    migrate,
    new_id,
    session_factory,
    utcnow,
)

log = logging.getLogger(__name__)
MAX_TOP_K = 1000


def _aad(identity_id: str, model: str) -> bytes:
    return f"clearsight/template/{identity_id}/{model}".encode()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name)


class Gallery:
    def __init__(self, settings: Settings, *, pipeline=None, model_id: str | None = None) -> None:  # noqa: ANN001
        self.settings = settings
        self.gs = gs = settings.gallery
        self.url = settings.gallery_database_url()
        self._engine = make_engine(self.url, sqlite_synchronous=gs.sqlite_synchronous)
        migrate(self._engine)
        self._Session = session_factory(self._engine)
        self._key_path = settings.template_key_file()
        self._protector = Protector(load_keyring(self._key_path))
        self._pipeline = pipeline
        self._model_id = model_id
        self._index: VectorIndex | None = None
        self._index_lock = threading.RLock()
        self._max_seen = 0
        self._changes = 0
        self._images_dir = settings.data_dir / "gallery-images"
        self._closed = False

    @classmethod
    def open(cls, settings: Settings | None = None, *, pipeline=None, model_id: str | None = None,  # noqa: ANN001
             gallery: GallerySettings | None = None) -> Gallery:
        """Open (creating and migrating if needed) the gallery of `settings`.

        `pipeline`: the FacePipeline for images (default: the shared one, loaded on
        first use). `model_id`: the embedder whose templates this gallery searches
        (default: the pipeline's)."""
        settings = settings or get_settings()
        if gallery is not None:
            settings = settings.model_copy(update={"gallery": gallery})
        return cls(settings, pipeline=pipeline, model_id=model_id)

    # -- parts ---------------------------------------------------------------
    @property
    def pipeline(self):  # noqa: ANN201
        if self._pipeline is None:
            from ..face.pipeline import default_pipeline

            self._pipeline = default_pipeline()
        return self._pipeline

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            self._model_id = self.pipeline.embedder.model_id
        return self._model_id

    def _session(self):  # noqa: ANN202
        return self._Session()

    def _index_path(self) -> Path:
        return self.settings.gallery_index_dir() / f"{_safe(self.model_id)}.{self._protector.active}.faiss"

    def _new_index(self, dim: int) -> VectorIndex:
        if self.gs.index == "milvus":
            uri = self.gs.milvus_uri or str(self.settings.gallery_index_dir() / "milvus.db")
            coll = f"{self.gs.milvus_collection}_{_safe(self.model_id)}_{self._protector.active}".replace(".", "_").replace("-", "_").replace("+", "_")
            return create_index("milvus", dim, uri=uri, collection=coll)
        return create_index(self.gs.index, dim, path=self._index_path(), exact_max=self.gs.exact_max,
                            factory=self.gs.compressed_factory, k_factor=self.gs.compressed_k_factor,
                            threads=self.gs.index_threads, shards=self.gs.index_shards,
                            probe_factor=self.gs.ivf_probe_factor,
                            first_probe_factor=self.gs.ivf_first_probe_factor, stop_gap=self.gs.ivf_stop_gap)

    def _dim(self) -> int | None:
        with self._session() as s:
            d = s.execute(select(TemplateRow.dim).where(TemplateRow.model == self.model_id).limit(1)).scalar()
        if d is not None:
            return int(d)
        if self._pipeline is not None or self._model_id is None:
            return int(self.pipeline.embedder.dim)
        return None

    def _refresh_keys(self) -> None:
        """Another process rotated the key file: follow it (new domain, new index)."""
        ring = self._protector.ring
        if ring.source == "env":
            return
        try:
            mtime = self._key_path.stat().st_mtime
        except OSError:
            return
        if mtime == ring.mtime:
            return
        new = load_keyring(self._key_path)
        if new.active != ring.active or set(new.keys) != set(ring.keys):
            self._protector = Protector(new)
            if new.active != ring.active and self._index is not None:
                self._index.close()
                self._index, self._max_seen = None, 0
        else:
            ring.mtime = mtime

    def _ensure_index(self, dim: int | None = None) -> VectorIndex | None:
        with self._index_lock:
            self._refresh_keys()
            if self._index is None:
                dim = dim or self._dim()
                if dim is None:
                    return None
                self._index = self._new_index(dim)
                self._reconcile()
            return self._index

    # -- store <-> index -----------------------------------------------------
    def _active_vectors(self, ids: np.ndarray) -> np.ndarray:
        """Stored templates, decrypted into the active key's domain, in `ids` order."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros((len(ids), self._index.dim if self._index is not None else 0), np.float32)
        pos = {int(t): i for i, t in enumerate(ids)}
        with self._session() as s:
            for i in range(0, len(ids), 5000):
                chunk = [int(x) for x in ids[i : i + 5000]]
                rows = s.execute(
                    select(TemplateRow.id, TemplateRow.identity_id, TemplateRow.key_id, TemplateRow.nonce,
                           TemplateRow.ciphertext).where(TemplateRow.id.in_(chunk))
                ).all()
                for r in rows:
                    out[pos[int(r.id)]] = self._protector.to_active(r.key_id, r.nonce, r.ciphertext,
                                                                    _aad(r.identity_id, self.model_id))
        return out

    def _store_ids(self) -> np.ndarray:
        with self._session() as s:
            ids = s.execute(select(TemplateRow.id).where(TemplateRow.model == self.model_id)).scalars().all()
        return np.asarray(ids, dtype=np.int64)

    def _store_state(self) -> tuple[int, int]:
        with self._session() as s:
            n, mx = s.execute(
                select(func.count(TemplateRow.id), func.max(TemplateRow.id)).where(TemplateRow.model == self.model_id)
            ).one()
        return int(n or 0), int(mx or 0)

    def _reconcile(self) -> tuple[int, int]:
        with self._index_lock:
            store = self._store_ids()
            added, removed = reconcile(self._index, store, self._active_vectors)
            self._max_seen = int(store.max()) if len(store) else 0
            if added or removed:
                log.info("gallery index caught up with the store: +%d -%d", added, removed)
                self._index.persist()
            return added, removed

    def sync(self, force: bool = False) -> VectorIndex | None:
        """Bring the index up to date with the store (other processes write too)."""
        with self._index_lock:
            idx = self._ensure_index()
            if idx is None:
                return None
            if force:
                self._reconcile()
                return idx
            n, mx = self._store_state()
            if n == len(idx) and mx == self._max_seen:
                return idx
            if mx > self._max_seen:
                with self._session() as s:
                    new = s.execute(
                        select(TemplateRow.id).where(TemplateRow.model == self.model_id, TemplateRow.id > self._max_seen)
                    ).scalars().all()
                new = np.asarray(new, dtype=np.int64)
                if len(new):
                    idx.add(new, self._active_vectors(new))
                self._max_seen = mx
            if n != len(idx):
                self._reconcile()
            return idx

    def _index_changed(self, n: int = 1) -> None:
        self._changes += n
        if self._changes >= self.gs.persist_every and self._index is not None:
            self._index.persist()
            self._changes = 0

    # -- identities ----------------------------------------------------------
    def create_identity(self, external_id: str | None, display_name: str, attributes: dict | None = None, *,
                        actor: str) -> Identity:
        actor = audit_log.require_actor(actor)
        if not display_name or not str(display_name).strip():
            raise InputError("display_name is required")
        if attributes is not None and not isinstance(attributes, dict):
            raise InputError("attributes must be a JSON object")
        row = IdentityRow(id=new_id(), external_id=external_id or None, display_name=str(display_name).strip()[:255],
                          attributes=dict(attributes or {}), created_at=utcnow())
        try:
            with self._session() as s, s.begin():
                s.add(row)
                s.flush()
                audit_log.append(s, actor=actor, action="identity.create", target=row.id, outcome="ok",
                                 details={"external_id": row.external_id})
        except IntegrityError:
            raise ConflictError(f"an identity with external id {external_id!r} already exists") from None
        return self._identity(row, 0)

    @staticmethod
    def _identity(row: IdentityRow, count: int) -> Identity:
        return Identity(id=row.id, external_id=row.external_id, display_name=row.display_name,
                        attributes=dict(row.attributes or {}), created_at=as_utc(row.created_at), template_count=count)

    def _count_q(self):  # noqa: ANN202
        return (select(func.count(TemplateRow.id)).where(TemplateRow.identity_id == IdentityRow.id)
                .correlate(IdentityRow).scalar_subquery())

    def get_identity(self, identity_id: str) -> Identity:
        with self._session() as s:
            r = s.execute(select(IdentityRow, self._count_q()).where(IdentityRow.id == str(identity_id))).first()
        if r is None:
            raise NotFoundError(f"no identity {identity_id!r}")
        return self._identity(r[0], int(r[1]))

    def find_identity(self, external_id: str) -> Identity:
        with self._session() as s:
            r = s.execute(select(IdentityRow, self._count_q()).where(IdentityRow.external_id == external_id)).first()
        if r is None:
            raise NotFoundError(f"no identity with external id {external_id!r}")
        return self._identity(r[0], int(r[1]))

    def list_identities(self, offset: int = 0, limit: int = 100) -> list[Identity]:
        if offset < 0 or not 0 < limit <= 10_000:
            raise InputError("offset must be >= 0 and limit in 1..10000")
        with self._session() as s:
            rows = s.execute(select(IdentityRow, self._count_q()).order_by(IdentityRow.created_at, IdentityRow.id)
                             .offset(offset).limit(limit)).all()
        return [self._identity(r[0], int(r[1])) for r in rows]

    def count_identities(self) -> int:
        with self._session() as s:
            return int(s.execute(select(func.count(IdentityRow.id))).scalar() or 0)

    def update_identity(self, identity_id: str, actor: str, display_name: str | None = None,
                        attributes: dict | None = None, external_id: str | None = None) -> Identity:
        """Change an identity's metadata; None leaves a field as it is. `attributes`
        replaces the whole object. The audit entry names the changed fields, never
        their values (names and attributes are personal data the log must not copy)."""
        actor = audit_log.require_actor(actor)
        if display_name is None and attributes is None and external_id is None:
            raise InputError("nothing to update: give display_name, attributes or external_id")
        if display_name is not None and not str(display_name).strip():
            raise InputError("display_name must not be empty")
        if attributes is not None and not isinstance(attributes, dict):
            raise InputError("attributes must be a JSON object")
        if external_id is not None and not str(external_id).strip():
            raise InputError("external_id must not be empty")
        wanted: dict[str, Any] = {}
        if display_name is not None:
            wanted["display_name"] = str(display_name).strip()[:255]
        if attributes is not None:
            wanted["attributes"] = dict(attributes)
        if external_id is not None:
            wanted["external_id"] = str(external_id)[:255]
        try:
            with self._session() as s, s.begin():
                row = s.get(IdentityRow, str(identity_id))
                if row is None:
                    raise NotFoundError(f"no identity {identity_id!r}")
                changed = sorted(k for k, v in wanted.items() if getattr(row, k) != v)
                for k in changed:
                    setattr(row, k, wanted[k])
                s.flush()
                audit_log.append(s, actor=actor, action="identity.update", target=row.id, outcome="ok",
                                 details={"changed": changed})
        except IntegrityError:
            raise ConflictError(f"an identity with external id {external_id!r} already exists") from None
        return self.get_identity(identity_id)

    def erase_identity(self, identity_id: str, actor: str) -> dict[str, int]:
        """Remove the identity, its templates, consents, memberships, stored images and
        index entries; only the audit entry recording the erasure remains."""
        actor = audit_log.require_actor(actor)
        with self._session() as s, s.begin():
            if s.get(IdentityRow, str(identity_id)) is None:
                raise NotFoundError(f"no identity {identity_id!r}")
            tpl = s.execute(select(TemplateRow.id, TemplateRow.image_path)
                            .where(TemplateRow.identity_id == identity_id)).all()
            n_cons = s.execute(delete(ConsentRow).where(ConsentRow.identity_id == identity_id)).rowcount
            s.execute(delete(GroupMemberRow).where(GroupMemberRow.identity_id == identity_id))
            s.execute(delete(TemplateRow).where(TemplateRow.identity_id == identity_id))
            s.execute(delete(IdentityRow).where(IdentityRow.id == identity_id))
            audit_log.append(s, actor=actor, action="erase", target=str(identity_id), outcome="ok",
                             details={"templates": len(tpl), "consents": int(n_cons or 0)})
        self._drop_templates([int(t.id) for t in tpl], [t.image_path for t in tpl])
        return {"templates": len(tpl), "consents": int(n_cons or 0)}

    def _drop_templates(self, ids: list[int], images: list[str | None]) -> None:
        for p in images:
            if p:
                try:
                    os.unlink(p)
                except FileNotFoundError:
                    pass
        if ids and self._index is not None:
            with self._index_lock:
                self._index.remove(np.asarray(ids, dtype=np.int64))
                self._index.persist()  # erased vectors leave the on-disk index now

    def export_identity(self, identity_id: str, actor: str) -> dict[str, Any]:
        """Everything held about an identity except biometric data (access requests)."""
        actor = audit_log.require_actor(actor)
        ident = self.get_identity(identity_id)
        with self._session() as s, s.begin():
            tpls = s.execute(select(TemplateRow.id, TemplateRow.model, TemplateRow.quality_score,
                                    TemplateRow.created_at).where(TemplateRow.identity_id == identity_id)).all()
            groups = s.execute(select(GroupRow.name).join(GroupMemberRow, GroupMemberRow.group_id == GroupRow.id)
                               .where(GroupMemberRow.identity_id == identity_id)).scalars().all()
            audit_log.append(s, actor=actor, action="export", target=identity_id, outcome="ok")
        return {
            "identity": ident.to_dict(),
            "consents": [c.to_dict() for c in self.list_consents(identity_id)],
            "groups": sorted(groups),
            "templates": [{"template_id": str(t.id), "model": t.model, "quality_score": t.quality_score,
                           "created_at": as_utc(t.created_at).isoformat()} for t in tpls],
        }

    # -- consent ---------------------------------------------------------------
    def add_consent(self, identity_id: str, purpose: Purpose | str, legal_basis: str, granted_by: str,
                    expires_at: datetime | None = None, *, actor: str) -> Consent:
        actor = audit_log.require_actor(actor)
        p = parse_purpose(purpose)
        if not legal_basis or not str(legal_basis).strip():
            raise InputError("legal_basis is required (e.g. consent, contract, legal_obligation)")
        if not granted_by or not str(granted_by).strip():
            raise InputError("granted_by is required")
        now = utcnow()
        exp = parse_expiry(expires_at, now)
        row = ConsentRow(id=new_id(), identity_id=str(identity_id), purpose=p.value, legal_basis=str(legal_basis)[:128],
                         granted_by=str(granted_by)[:255], granted_at=now, expires_at=exp)
        with self._session() as s, s.begin():
            if s.get(IdentityRow, str(identity_id)) is None:
                raise NotFoundError(f"no identity {identity_id!r}")
            s.add(row)
            audit_log.append(s, actor=actor, action="consent.grant", purpose=p.value, target=str(identity_id),
                             outcome="ok", details={"consent_id": row.id, "legal_basis": row.legal_basis,
                                                    "expires_at": exp.isoformat() if exp else None})
        return to_consent(row)

    def withdraw_consent(self, consent_id: str, actor: str) -> Consent:
        actor = audit_log.require_actor(actor)
        with self._session() as s, s.begin():
            row = s.get(ConsentRow, str(consent_id))
            if row is None:
                raise NotFoundError(f"no consent {consent_id!r}")
            if row.withdrawn_at is None:
                row.withdrawn_at, row.withdrawn_by = utcnow(), actor
                audit_log.append(s, actor=actor, action="consent.withdraw", purpose=row.purpose,
                                 target=row.identity_id, outcome="ok", details={"consent_id": row.id})
            return to_consent(row)

    def list_consents(self, identity_id: str) -> list[Consent]:
        with self._session() as s:
            rows = s.execute(select(ConsentRow).where(ConsentRow.identity_id == str(identity_id))
                             .order_by(ConsentRow.granted_at)).scalars().all()
        return [to_consent(r) for r in rows]

    # -- enrolment -------------------------------------------------------------
    def enroll(self, identity_id: str, image, actor: str, *, store_image: bool | None = None) -> EnrolResult:  # noqa: ANN001
        """Detect, gate on quality, embed and store one face of `identity_id`.

        Raises NotFoundError, ConsentRequiredError (no valid consent for any purpose),
        NoFaceError, QualityRejectedError(reasons); each refusal is audited."""
        from ..io import encode_jpeg, load_image

        actor = audit_log.require_actor(actor)
        self._require_enrollable(identity_id, actor)
        rgb = load_image(image)
        source_sha = hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest()
        try:
            tpl = self.pipeline.primary_template(rgb)
        except InputError as exc:
            self._audit(actor, "enrol", target=identity_id, outcome="rejected", details={"error": exc.code})
            raise
        if tpl.embedding.model != self.model_id:
            raise IncompatibleTemplatesError(
                f"the pipeline's embedder {tpl.embedding.model!r} differs from this gallery's {self.model_id!r}")
        if not tpl.quality.passed:
            self._audit(actor, "enrol", target=identity_id, outcome="rejected",
                        details={"error": "quality_rejected", "reasons": list(tpl.quality.reasons)})
            raise QualityRejectedError(tpl.quality.reasons, tpl.quality)
        keep = self.gs.store_images if store_image is None else store_image
        image_bytes = encode_jpeg(rgb) if keep else None
        return self._insert(identity_id, tpl.embedding, tpl.quality, actor, source_sha, image_bytes)

    def enroll_embedding(self, identity_id: str, embedding: Embedding, actor: str, *,
                         quality: QualityReport | None = None) -> EnrolResult:
        """Enrol a template computed elsewhere (same embedder model): bulk imports, tests."""
        actor = audit_log.require_actor(actor)
        if not isinstance(embedding, Embedding):
            raise InputError("enroll_embedding needs an Embedding")
        if embedding.model != self.model_id:
            raise IncompatibleTemplatesError(f"template of {embedding.model!r}; this gallery uses {self.model_id!r}")
        if quality is not None and not quality.passed:
            raise QualityRejectedError(quality.reasons, quality)
        self._require_enrollable(identity_id, actor)
        return self._insert(identity_id, embedding, quality, actor, None, None)

    def _require_enrollable(self, identity_id: str, actor: str) -> None:
        now = utcnow()
        with self._session() as s:
            if s.get(IdentityRow, str(identity_id)) is None:
                raise NotFoundError(f"no identity {identity_id!r}")
            ok = s.execute(select(valid_consent_clause(IdentityRow.id, None, now))
                           .where(IdentityRow.id == str(identity_id))).scalar()
        if not ok:
            self._audit(actor, "enrol", target=identity_id, outcome="refused", details={"error": "consent_required"})
            raise ConsentRequiredError(
                f"identity {identity_id!r} has no valid consent or legal basis; record one before enrolling")

    def _duplicate_warnings(self, identity_id: str, vec: np.ndarray, prot: Protector) -> list[str]:
        try:
            strict = operating_point(self.model_id, "strict")
        except (ModelError, InputError):
            return []
        idx = self.sync()
        if idx is None or len(idx) == 0:
            return []
        if prot is not self._protector:
            return []  # a rotation swapped keys meanwhile; skip the advisory check
        hits = self._rescore(idx, vec, 20, purpose=None, group_id=None, exclude=identity_id, protector=prot)
        return [f"face already matches identity {iid} ({name}) at similarity {sim:.3f}, above the strict "
                f"operating point ({strict.threshold:.3f})"
                for iid, (sim, _tid, name) in hits.items() if sim >= strict.threshold]

    def _insert(self, identity_id: str, embedding: Embedding, quality: QualityReport | None, actor: str,
                source_sha: str | None, image_bytes: bytes | None) -> EnrolResult:
        v = np.asarray(embedding.vector, dtype=np.float32)
        v = v / max(float(np.linalg.norm(v)), 1e-12)
        prot = self._protector
        warnings = self._duplicate_warnings(identity_id, prot.transform(v), prot)
        aad = _aad(identity_id, self.model_id)
        image_path = None
        # Encrypt, commit and index under one lock: a key rotation can never slip in
        # between and leave a row protected by a key it is about to retire.
        with self._index_lock:
            prot = self._protector
            t = prot.transform(v)
            kid, nonce, ct = prot.encrypt(t, aad)
            with self._session() as s, s.begin():
                if s.get(IdentityRow, str(identity_id)) is None:  # erased meanwhile
                    raise NotFoundError(f"no identity {identity_id!r}")
                row = TemplateRow(identity_id=str(identity_id), model=self.model_id, dim=int(v.shape[0]), key_id=kid,
                                  nonce=nonce, ciphertext=ct, quality_score=quality.score if quality else None,
                                  quality=quality.to_dict() if quality else None, source_sha256=source_sha,
                                  created_at=utcnow())
                s.add(row)
                s.flush()
                if image_bytes is not None:
                    self._images_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                    image_path = str(self._images_dir / f"{row.id}.bin")
                    Path(image_path).write_bytes(prot.encrypt_blob(image_bytes, aad))
                    row.image_path = image_path
                audit_log.append(s, actor=actor, action="enrol", target=str(identity_id), outcome="ok",
                                 details={"template_id": str(row.id), "model": self.model_id,
                                          "quality": round(quality.score, 3) if quality else None,
                                          "warnings": len(warnings)})
                tid = int(row.id)
            idx = self._ensure_index(int(v.shape[0]))
            if idx is not None:
                idx.add(np.array([tid], np.int64), t.reshape(1, -1))
                self._max_seen = max(self._max_seen, tid)
                self._index_changed()
        return EnrolResult(template_id=str(tid), quality=quality, warnings=warnings)

    def load_image_of(self, template_id: str) -> bytes:
        """The stored enrolment image (JPEG) of a template, if images are kept."""
        with self._session() as s:
            row = s.get(TemplateRow, int(template_id))
        if row is None or not row.image_path or not os.path.exists(row.image_path):
            raise NotFoundError(f"no stored image for template {template_id!r}")
        return self._protector.decrypt_blob(Path(row.image_path).read_bytes(), _aad(row.identity_id, row.model))

    # -- search ----------------------------------------------------------------
    def _group_id(self, s, group: Group | str) -> str:  # noqa: ANN001
        key = group.id if isinstance(group, Group) else str(group)
        row = s.execute(select(GroupRow).where((GroupRow.id == key) | (GroupRow.name == key))).scalars().first()
        if row is None:
            raise NotFoundError(f"no group {key!r}")
        return row.id

    def _audited_query_vector(self, image_or_embedding, actor: str, action: str, purpose: Purpose,  # noqa: ANN001
                              target: str | None) -> np.ndarray:
        """The probe's vector; a probe that cannot be used (no face, wrong model) is still
        an attempt to identify someone, so it is audited as rejected before the error."""
        try:
            return self._query_vector(image_or_embedding)
        except InputError as exc:
            self._audit(actor, action, purpose=purpose.value, target=target, outcome="rejected",
                        details={"error": exc.code})
            raise

    def _query_vector(self, image_or_embedding) -> np.ndarray:  # noqa: ANN001
        if isinstance(image_or_embedding, Embedding):
            if image_or_embedding.model != self.model_id:
                raise IncompatibleTemplatesError(
                    f"template of {image_or_embedding.model!r}; this gallery holds {self.model_id!r} templates")
            v = image_or_embedding.vector
        elif isinstance(image_or_embedding, np.ndarray) and image_or_embedding.ndim == 1:
            v = image_or_embedding
        else:
            v = self.pipeline.primary_template(image_or_embedding).embedding.vector
        v = np.asarray(v, dtype=np.float32)
        if not np.all(np.isfinite(v)) or float(np.linalg.norm(v)) == 0.0:
            raise InputError("the query template is empty or not finite")
        return v / float(np.linalg.norm(v))

    def _rescore(self, idx: VectorIndex, q: np.ndarray, top_k: int, *, purpose: Purpose | None,
                 group_id: str | None, exclude: str | None = None,
                 protector: Protector | None = None) -> dict[str, tuple[float, int, str]]:
        """Best exact similarity per eligible identity: index shortlist, SQL filter, exact re-score."""
        prot = protector or self._protector
        now = utcnow()
        kk, tries, allowed = max(4 * top_k, 32), 0, None
        best: dict[str, tuple[float, int, str]] = {}
        while True:
            _s, ids = idx.search(q.reshape(1, -1), kk, allowed=allowed)
            cand = [int(i) for i in ids[0] if i >= 0]
            best = {}
            if cand:
                with self._session() as s:
                    stmt = (select(TemplateRow.id, TemplateRow.identity_id, TemplateRow.key_id, TemplateRow.nonce,
                                   TemplateRow.ciphertext, IdentityRow.display_name)
                            .join(IdentityRow, IdentityRow.id == TemplateRow.identity_id)
                            .where(TemplateRow.id.in_(cand), TemplateRow.model == self.model_id))
                    stmt = self._eligible(stmt, purpose, group_id, exclude, now)
                    for r in s.execute(stmt).all():
                        vec = prot.to_active(r.key_id, r.nonce, r.ciphertext, _aad(r.identity_id, self.model_id))
                        sim = float(np.dot(vec, q))
                        if r.identity_id not in best or sim > best[r.identity_id][0]:
                            best[r.identity_id] = (sim, int(r.id), r.display_name)
            if len(best) >= top_k or kk >= len(idx) or (allowed is not None and kk >= len(allowed)):
                return best
            tries += 1
            if tries >= 2 and allowed is None:
                # the purpose/group is rare in a large gallery: search only its templates
                with self._session() as s:
                    stmt = (select(TemplateRow.id).join(IdentityRow, IdentityRow.id == TemplateRow.identity_id)
                            .where(TemplateRow.model == self.model_id))
                    allowed = np.asarray(s.execute(self._eligible(stmt, purpose, group_id, exclude, now))
                                         .scalars().all(), dtype=np.int64)
                if not len(allowed):
                    return {}
                kk = max(kk, min(len(allowed), 4 * top_k + 32))
            else:
                kk *= 8

    @staticmethod
    def _eligible(stmt, purpose, group_id, exclude, now):  # noqa: ANN001, ANN205
        if purpose is not None:
            stmt = stmt.where(valid_consent_clause(IdentityRow.id, purpose, now))
        if group_id is not None:
            stmt = stmt.where(IdentityRow.id.in_(select(GroupMemberRow.identity_id)
                                                 .where(GroupMemberRow.group_id == group_id)))
        if exclude is not None:
            stmt = stmt.where(IdentityRow.id != exclude)
        return stmt

    def search(self, image_or_embedding, purpose: Purpose | str, actor: str, top_k: int = 5,  # noqa: ANN001
               group: Group | str | None = None) -> list[Match]:
        """Top-k identities by best template similarity, among identities holding a valid
        consent for `purpose` (and in `group`). Each hit names the strictest operating
        point it passes (None: below every point: a candidate, not a match)."""
        actor = audit_log.require_actor(actor)
        p = parse_purpose(purpose)
        if not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
            raise InputError(f"top_k must be an integer in 1..{MAX_TOP_K}")
        group_id = None
        group_name = None
        if group is not None:
            with self._session() as s:
                group_id = self._group_id(s, group)
                group_name = s.get(GroupRow, group_id).name
        q = self._audited_query_vector(image_or_embedding, actor, "search", p, group_name)
        with self._index_lock:
            idx = self.sync() if self.gs.sync_on_search else self._ensure_index(int(q.shape[0]))
            if idx is not None and idx.dim != q.shape[0]:
                raise IncompatibleTemplatesError(f"query has {q.shape[0]} dimensions, the gallery {idx.dim}")
            prot = self._protector  # one key domain for the whole search, even if a rotation swaps
            qa = prot.transform(q)
        best = (self._rescore(idx, qa, top_k, purpose=p, group_id=group_id, protector=prot)
                if idx is not None and len(idx) else {})
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:top_k]
        matches = []
        for iid, (sim, tid, name) in ranked:
            try:
                op = strongest_operating_point(self.model_id, sim)
            except ModelError:
                op = None
            matches.append(Match(identity_id=iid, similarity=sim, operating_point=op, template_id=str(tid),
                                 display_name=name))
        with self._session() as s, s.begin():
            hits = [m for m in matches if m.operating_point]
            audit_log.append(s, actor=actor, action="search", purpose=p.value, target=group_name,
                             outcome="match" if hits else "no_match",
                             details={"top_k": top_k, "candidates": len(matches), "model": self.model_id})
            for m in hits:
                audit_log.append(s, actor=actor, action="match", purpose=p.value, target=m.identity_id,
                                 outcome=m.operating_point,
                                 details={"similarity": round(m.similarity, 4), "template_id": m.template_id})
        return matches

    def verify(self, identity_id: str, image_or_embedding, purpose: Purpose | str, actor: str,  # noqa: ANN001
               operating_point: str = "balanced") -> IdentityVerification:
        """1:1: is the probe the claimed identity (log-in, KYC, face-pay)?

        Compares only with that identity's own templates, read from the store, so the
        answer is exact and independent of the rest of the gallery (a 1:N ranking could
        push the claimed identity out of its top-K). Needs a valid consent for `purpose`;
        every call is audited with the score and operating point, never the vector."""
        actor = audit_log.require_actor(actor)
        p = parse_purpose(purpose)
        point = _operating_point(self.model_id, operating_point)
        identity_id = str(identity_id)
        now = utcnow()
        with self._session() as s:
            known = s.get(IdentityRow, identity_id) is not None
            consented = known and bool(s.execute(select(valid_consent_clause(IdentityRow.id, p, now))
                                                 .where(IdentityRow.id == identity_id)).scalar())
        if not known:
            self._audit(actor, "verify", purpose=p.value, target=identity_id, outcome="rejected",
                        details={"error": NotFoundError.code})
            raise NotFoundError(f"no identity {identity_id!r}")
        if not consented:
            self._audit(actor, "verify", purpose=p.value, target=identity_id, outcome="refused",
                        details={"error": ConsentRequiredError.code})
            raise ConsentRequiredError(f"identity {identity_id!r} has no valid consent for purpose {p.value!r}")
        q = self._audited_query_vector(image_or_embedding, actor, "verify", p, identity_id)
        best = self._best_own_template(identity_id, q)
        if best is None:
            self._audit(actor, "verify", purpose=p.value, target=identity_id, outcome="rejected",
                        details={"error": "no_templates", "model": self.model_id})
            raise NotFoundError(f"identity {identity_id!r} has no enrolled {self.model_id} face to verify against")
        sim, tid = best
        result = IdentityVerification(
            identity_id=identity_id, template_id=str(tid), similarity=sim,
            decision=Decision.MATCH if sim >= point.threshold else Decision.NO_MATCH,
            threshold=point.threshold, operating_point=point.name, target_fmr=point.target_fmr, model=self.model_id)
        self._audit(actor, "verify", purpose=p.value, target=identity_id, outcome=result.decision.value,
                    details={"similarity": round(sim, 4), "operating_point": point.name, "model": self.model_id,
                             "template_id": str(tid)})
        return result

    def _best_own_template(self, identity_id: str, q: np.ndarray) -> tuple[float, int] | None:
        """Best cosine of the unit probe `q` over the identity's templates (None: it has none)."""
        with self._index_lock:
            self._refresh_keys()
            prot = self._protector  # one key domain for the probe and every template
        qa = prot.transform(q)
        with self._session() as s:
            rows = s.execute(select(TemplateRow.id, TemplateRow.dim, TemplateRow.key_id, TemplateRow.nonce,
                                    TemplateRow.ciphertext)
                             .where(TemplateRow.identity_id == identity_id, TemplateRow.model == self.model_id)
                             .order_by(TemplateRow.id)).all()
        best: tuple[float, int] | None = None
        for r in rows:
            if int(r.dim) != qa.shape[0]:
                raise IncompatibleTemplatesError(f"probe has {qa.shape[0]} dimensions, the templates {r.dim}")
            vec = prot.to_active(r.key_id, r.nonce, r.ciphertext, _aad(identity_id, self.model_id))
            sim = float(np.dot(vec, qa))
            if best is None or sim > best[0]:
                best = (sim, int(r.id))
        return best

    # -- groups ----------------------------------------------------------------
    def create_group(self, name: str, *, actor: str = "system") -> Group:
        if not name or not str(name).strip():
            raise InputError("a group name is required")
        row = GroupRow(id=new_id(), name=str(name).strip()[:255], created_at=utcnow())
        try:
            with self._session() as s, s.begin():
                s.add(row)
                s.flush()
                audit_log.append(s, actor=audit_log.require_actor(actor), action="group.create", target=row.name,
                                 outcome="ok")
        except IntegrityError:
            raise ConflictError(f"a group named {name!r} already exists") from None
        return Group(row.id, row.name, as_utc(row.created_at), 0)

    def add_member(self, group: Group | str, identity_id: str, *, actor: str = "system") -> None:
        with self._session() as s, s.begin():
            gid = self._group_id(s, group)
            if s.get(IdentityRow, str(identity_id)) is None:
                raise NotFoundError(f"no identity {identity_id!r}")
            if s.get(GroupMemberRow, (gid, str(identity_id))) is None:
                s.add(GroupMemberRow(group_id=gid, identity_id=str(identity_id)))
                audit_log.append(s, actor=audit_log.require_actor(actor), action="group.add", target=str(identity_id),
                                 outcome="ok", details={"group_id": gid})

    def remove_member(self, group: Group | str, identity_id: str, *, actor: str = "system") -> None:
        with self._session() as s, s.begin():
            gid = self._group_id(s, group)
            n = s.execute(delete(GroupMemberRow).where(GroupMemberRow.group_id == gid,
                                                       GroupMemberRow.identity_id == str(identity_id))).rowcount
            if n:
                audit_log.append(s, actor=audit_log.require_actor(actor), action="group.remove",
                                 target=str(identity_id), outcome="ok", details={"group_id": gid})

    def list_groups(self) -> list[Group]:
        with self._session() as s:
            cnt = (select(func.count()).where(GroupMemberRow.group_id == GroupRow.id).correlate(GroupRow)
                   .scalar_subquery())
            rows = s.execute(select(GroupRow, cnt).order_by(GroupRow.name)).all()
        return [Group(r[0].id, r[0].name, as_utc(r[0].created_at), int(r[1])) for r in rows]

    # -- audit -----------------------------------------------------------------
    def _audit(self, actor: str, action: str, **kw: Any) -> None:
        with self._session() as s, s.begin():
            audit_log.append(s, actor=actor, action=action, **kw)

    def audit_entries(self, offset: int = 0, limit: int = 100, *, action: str | None = None,
                      target: str | None = None, newest_first: bool = False) -> list[AuditEntry]:
        if offset < 0 or not 0 < limit <= 10_000:
            raise InputError("offset must be >= 0 and limit in 1..10000")
        with self._session() as s:
            return audit_log.entries(s, offset, limit, action=action, target=target, newest_first=newest_first)

    def count_audit_entries(self, action: str | None = None, target: str | None = None) -> int:
        """How many entries `audit_entries` pages through with the same filters."""
        with self._session() as s:
            return audit_log.count(s, action=action, target=target)

    def verify_audit(self) -> AuditVerification:
        with self._session() as s:
            return audit_log.verify(s)

    # -- retention -------------------------------------------------------------
    def purge_expired(self, actor: str) -> PurgeReport:
        from .retention import purge

        return purge(self, audit_log.require_actor(actor))

    # -- keys ------------------------------------------------------------------
    def rotate_key(self, actor: str, new_key: bytes | None = None, batch: int = 1000) -> RotationReport:
        """Re-protect every template under a new key while searches keep running.

        Key file: a new key is generated, becomes active for new enrolments, every
        stored template is re-encrypted and re-transformed, the index is rebuilt in
        the new domain and swapped in, then the old keys are deleted (revoking every
        copy of the old templates). Env keys: set the new key in CLEARSIGHT_TEMPLATE_KEY
        and the old one in CLEARSIGHT_TEMPLATE_KEY_PREVIOUS, then rotate."""
        actor = audit_log.require_actor(actor)
        with self._index_lock:
            old_ring = self._protector.ring
            if old_ring.source == "env":
                if new_key is not None:
                    raise InputError("with CLEARSIGHT_TEMPLATE_KEY set, rotate by changing the environment")
                new = load_keyring(self._key_path)
            else:
                add_key_to_file(self._key_path, new_key)
                new = load_keyring(self._key_path)
            newp = Protector(new)
            old_ids = [k for k in new.keys if k != new.active]
            # Until the swap, searches stay in the old key's domain but must read rows
            # already re-protected under the new key: teach the live ring (which searches
            # in flight hold) the new key, add-only, without changing its active key.
            old_ring.keys.update(new.keys)
            old_ring.mtime = new.mtime
        self._audit(actor, "keys.rotate", outcome="started", details={"new_key_id": new.active})
        done = 0
        last = 0
        while True:  # re-protect in batches; enrolments continue meanwhile
            with self._session() as s, s.begin():
                rows = s.execute(select(TemplateRow).where(TemplateRow.id > last, TemplateRow.key_id != new.active)
                                 .order_by(TemplateRow.id).limit(batch)).scalars().all()
                if not rows:
                    break
                for r in rows:
                    aad = _aad(r.identity_id, r.model)
                    t_old = newp.decrypt(r.key_id, r.nonce, r.ciphertext, aad)
                    v = t_old @ newp.matrix(r.key_id, r.dim)  # back to the raw template
                    r.key_id, r.nonce, r.ciphertext = newp.encrypt(newp.transform(v), aad)
                    done += 1
                last = rows[-1].id
        with self._index_lock:  # swap: new enrolments and searches use the new key from here on
            old_index = self._index
            self._protector = newp
            self._index, self._max_seen = None, 0
            if old_index is not None:
                old_index.close()
            self._ensure_index()
            # templates enrolled under the old key during the loop
            with self._session() as s, s.begin():
                for r in s.execute(select(TemplateRow).where(TemplateRow.key_id != new.active)).scalars():
                    aad = _aad(r.identity_id, r.model)
                    v = newp.decrypt(r.key_id, r.nonce, r.ciphertext, aad) @ newp.matrix(r.key_id, r.dim)
                    r.key_id, r.nonce, r.ciphertext = newp.encrypt(newp.transform(v), aad)
                    done += 1
            if self._index is not None:
                self._reconcile()
            if new.source != "env" and old_ids:
                drop_keys_from_file(self._key_path, old_ids)
                self._protector = Protector(load_keyring(self._key_path))
            self._audit(actor, "keys.rotate", outcome="ok",
                        details={"new_key_id": new.active, "retired": old_ids, "templates": done})
            # index files of retired keys: <model>.<key>.faiss.g<gen>.<shard> and their manifest
            idir = self.settings.gallery_index_dir()
            for p in idir.iterdir() if idir.exists() else ():
                if any(f".{k}." in p.name for k in old_ids):
                    p.unlink(missing_ok=True)
        return RotationReport(old_key_ids=old_ids, new_key_id=new.active, templates_reprotected=done)

    # -- lifecycle -------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self._session() as s:
            n_id = s.execute(select(func.count(IdentityRow.id))).scalar() or 0
            n_t = s.execute(select(func.count(TemplateRow.id))).scalar() or 0
        idx = self._index.describe() if self._index is not None else None
        return {"identities": int(n_id), "templates": int(n_t), "index": idx, "key_id": self._protector.active,
                "database": self._engine.url.render_as_string(hide_password=True)}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._index_lock:
            if self._index is not None:
                self._index.close()
                self._index = None
        self._engine.dispose()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

