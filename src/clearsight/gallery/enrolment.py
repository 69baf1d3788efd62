"""Enrolment: from a photo (or a template computed elsewhere) to a protected, indexed template.

Why: enrolment is the one write that crosses every part (consent policy, face model,
duplicate check, template protection, store, index) and its refusals are audited.
Keeping the order here (policy and quality first, then encrypt, commit and index
under the index lock so a key rotation cannot slip in between) keeps the facade thin.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from ..errors import IncompatibleTemplatesError, InputError
from ..types import Embedding, QualityReport
from . import policy
from .errors import ConsentRequiredError, NotFoundError, QualityRejectedError
from .model import FaceModel
from .protection import TemplateKeys
from .records import EnrolResult
from .repository import IdentityRepository
from .search import Searcher
from .store import TemplateRow, utcnow
from .sync import IndexSync, template_aad


@dataclass(frozen=True, slots=True)
class Candidate:
    """A face that passed the gate, ready to store: unit vector, quality, provenance."""

    vector: np.ndarray
    quality: QualityReport | None
    source_sha256: str | None = None
    image_jpeg: bytes | None = None


class Enroller:
    def __init__(self, repo: IdentityRepository, sync: IndexSync, keys: TemplateKeys, model: FaceModel,
                 searcher: Searcher, images_dir: Path) -> None:
        self.repo = repo
        self.sync = sync
        self.keys = keys
        self.model = model
        self.searcher = searcher
        self.images_dir = images_dir

    # -- the gate -------------------------------------------------------------------
    def require_enrollable(self, identity_id: str, actor: str) -> None:
        with self.repo.session() as s:
            self.repo.require_identity(s, identity_id)
            ok = policy.may_enrol(s, identity_id, utcnow())
        if not ok:
            self.repo.record(actor, "enrol", target=identity_id, outcome="refused",
                             details={"error": "consent_required"})
            raise ConsentRequiredError(
                f"identity {identity_id!r} has no valid consent or legal basis; record one before enrolling")

    def from_image(self, image: object, actor: str, target: str | None, keep_image: bool) -> Candidate:
        """Detect, gate on quality and embed; a refusal is audited against `target`."""
        from ..io import encode_jpeg, load_image

        rgb = load_image(image)
        source_sha = hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest()
        try:
            tpl = self.model.pipeline.primary_template(rgb)
        except InputError as exc:
            self.repo.record(actor, "enrol", target=target, outcome="rejected", details={"error": exc.code})
            raise
        if tpl.embedding.model != self.model.model_id:
            raise IncompatibleTemplatesError(
                f"the pipeline's embedder {tpl.embedding.model!r} differs from this gallery's {self.model.model_id!r}")
        if not tpl.quality.passed:
            self.repo.record(actor, "enrol", target=target, outcome="rejected",
                             details={"error": "quality_rejected", "reasons": list(tpl.quality.reasons)})
            raise QualityRejectedError(tpl.quality.reasons, tpl.quality)
        return Candidate(self._unit(tpl.embedding), tpl.quality, source_sha, encode_jpeg(rgb) if keep_image else None)

    def from_embedding(self, embedding: Embedding, quality: QualityReport | None) -> Candidate:
        if not isinstance(embedding, Embedding):
            raise InputError("enrol_embedding needs an Embedding")
        if embedding.model != self.model.model_id:
            raise IncompatibleTemplatesError(
                f"template of {embedding.model!r}; this gallery uses {self.model.model_id!r}")
        if quality is not None and not quality.passed:
            raise QualityRejectedError(quality.reasons, quality)
        return Candidate(self._unit(embedding), quality)

    @staticmethod
    def _unit(embedding: Embedding) -> np.ndarray:
        v = np.asarray(embedding.vector, dtype=np.float32)
        if not np.all(np.isfinite(v)) or float(np.linalg.norm(v)) == 0.0:
            raise InputError("the template is empty or not finite")  # as a search probe would be
        return v / float(np.linalg.norm(v))

    # -- the write --------------------------------------------------------------------
    def store(self, identity_id: str, c: Candidate, actor: str) -> EnrolResult:
        """Store one template of an existing identity."""
        prot = self.keys.protector
        warnings = self.searcher.duplicates(identity_id, prot.transform(c.vector), prot)
        with self.sync.lock:
            with self.repo.transaction() as s:
                if not self.repo.exists(s, identity_id):  # erased meanwhile
                    raise NotFoundError(f"no identity {identity_id!r}")
                tid, protected = self.write(s, identity_id, c, actor, len(warnings))
            self.sync.added(tid, protected)
        return EnrolResult(template_id=str(tid), quality=c.quality, warnings=warnings)

    def store_new(self, identity_id: str, candidates: list[Candidate], actor: str,
                  create: Callable[[Session], None]) -> list[EnrolResult]:
        """Create the identity (`create`, with its consent) and store its templates in ONE
        transaction: a refused or failed enrolment never leaves an identity behind."""
        prot = self.keys.protector
        warnings = [self.searcher.duplicates(identity_id, prot.transform(c.vector), prot) for c in candidates]
        written: list[tuple[int, np.ndarray]] = []
        with self.sync.lock:
            try:
                with self.repo.transaction() as s:
                    create(s)
                    for c, w in zip(candidates, warnings):
                        written.append(self.write(s, identity_id, c, actor, len(w)))
            except BaseException:
                for tid, _ in written:  # images written for rows that rolled back
                    (self.images_dir / f"{tid}.bin").unlink(missing_ok=True)
                raise
            for tid, protected in written:
                self.sync.added(tid, protected)
        return [EnrolResult(template_id=str(tid), quality=c.quality, warnings=w)
                for (tid, _), c, w in zip(written, candidates, warnings)]

    def write(self, s: Session, identity_id: str, c: Candidate, actor: str, n_warnings: int) -> tuple[int, np.ndarray]:
        """Encrypt and add the template row (and its image) in the caller's transaction, which
        must hold `sync.lock` until the index has it: a key rotation can never slip in between
        and leave a row protected by a key it is about to retire. Returns (id, protected vector)."""
        model_id = self.model.model_id
        aad = template_aad(identity_id, model_id)
        prot = self.keys.protector
        protected = prot.transform(c.vector)
        kid, nonce, ct = prot.encrypt(protected, aad)
        q = c.quality
        row = self.repo.add_template(s, TemplateRow(
            identity_id=str(identity_id), model=model_id, dim=int(c.vector.shape[0]), key_id=kid, nonce=nonce,
            ciphertext=ct, quality_score=q.score if q else None, quality=q.to_dict() if q else None,
            source_sha256=c.source_sha256, created_at=utcnow()))
        if c.image_jpeg is not None:
            self.images_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = self.images_dir / f"{row.id}.bin"
            path.write_bytes(prot.encrypt_blob(c.image_jpeg, aad))
            row.image_path = str(path)
        self.repo.audit.append(s, actor=actor, action="enrol", target=str(identity_id), outcome="ok",
                               details={"template_id": str(row.id), "model": model_id,
                                        "quality": round(q.score, 3) if q else None, "warnings": n_warnings})
        return int(row.id), protected
