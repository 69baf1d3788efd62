"""The searcher: 1:N identification and 1:1 verification against the gallery.

Why: this is where a face becomes an identification, so the privacy rules meet the
index here: the probe step is audited even when it fails (an attempt to identify
someone), the index only shortlists, and the shortlist is filtered in SQL by the
consent policy and re-scored exactly from the stored templates. A stale index can
therefore never return an erased or unconsented identity, nor a wrong score.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from ..errors import IncompatibleTemplatesError, InputError, ModelError
from ..face.verification import operating_point as calibrated_point
from ..face.verification import strongest_operating_point
from ..types import Decision, Embedding, Match
from . import policy
from .consent import Purpose, parse_purpose
from .errors import ConsentRequiredError, NotFoundError
from .index.base import VectorIndex
from .model import FaceModel
from .protection import Protector, TemplateKeys
from .records import Group, IdentityVerification
from .repository import IdentityRepository
from .store import IdentityRow, TemplateRow, utcnow
from .sync import IndexSync, template_aad

MAX_TOP_K = 1000

#: best exact similarity per identity: (similarity, template id, display name)
Ranked = dict[str, tuple[float, int, str]]


class Searcher:
    def __init__(self, repo: IdentityRepository, sync: IndexSync, keys: TemplateKeys, model: FaceModel) -> None:
        self.repo = repo
        self.sync = sync
        self.keys = keys
        self.model = model

    # -- the probe ---------------------------------------------------------------
    def query_vector(self, image_or_embedding: Embedding | np.ndarray | object) -> np.ndarray:
        """The probe as a unit vector of this gallery's model (an image goes through the pipeline)."""
        model_id = self.model.model_id
        if isinstance(image_or_embedding, Embedding):
            if image_or_embedding.model != model_id:
                raise IncompatibleTemplatesError(
                    f"template of {image_or_embedding.model!r}; this gallery holds {model_id!r} templates")
            v = image_or_embedding.vector
        elif isinstance(image_or_embedding, np.ndarray) and image_or_embedding.ndim == 1:
            v = image_or_embedding
        else:
            v = self.model.pipeline.primary_template(image_or_embedding).embedding.vector
        v = np.asarray(v, dtype=np.float32)
        if not np.all(np.isfinite(v)) or float(np.linalg.norm(v)) == 0.0:
            raise InputError("the query template is empty or not finite")
        return v / float(np.linalg.norm(v))

    def audited_query_vector(self, image_or_embedding: object, actor: str, action: str, purpose: Purpose,
                             target: str | None) -> np.ndarray:
        """A probe that cannot be used (no face, wrong model) is still an attempt to identify
        someone, so it is audited as rejected before the error."""
        try:
            return self.query_vector(image_or_embedding)
        except InputError as exc:
            self.repo.record(actor, action, purpose=purpose.value, target=target, outcome="rejected",
                             details={"error": exc.code})
            raise

    # -- shortlist, filter, exact re-score ----------------------------------------
    def rescore(self, idx: VectorIndex, q: np.ndarray, top_k: int, *, purpose: Purpose | None,
                group_id: str | None, exclude: str | None = None, protector: Protector | None = None) -> Ranked:
        """Best exact similarity per eligible identity: index shortlist, SQL filter, exact re-score."""
        prot = protector or self.keys.protector
        model_id = self.model.model_id
        now = utcnow()
        kk, tries, allowed = max(4 * top_k, 32), 0, None
        while True:
            _s, ids = idx.search(q.reshape(1, -1), kk, allowed=allowed)
            cand = [int(i) for i in ids[0] if i >= 0]
            best: Ranked = {}
            if cand:
                with self.repo.session() as s:
                    stmt = (select(TemplateRow.id, TemplateRow.identity_id, TemplateRow.key_id, TemplateRow.nonce,
                                   TemplateRow.ciphertext, IdentityRow.display_name)
                            .join(IdentityRow, IdentityRow.id == TemplateRow.identity_id)
                            .where(TemplateRow.id.in_(cand), TemplateRow.model == model_id))
                    for r in s.execute(policy.eligible(stmt, purpose, group_id, exclude, now)).all():
                        vec = prot.to_active(r.key_id, r.nonce, r.ciphertext, template_aad(r.identity_id, model_id))
                        sim = float(np.dot(vec, q))
                        if r.identity_id not in best or sim > best[r.identity_id][0]:
                            best[r.identity_id] = (sim, int(r.id), r.display_name)
            if len(best) >= top_k or kk >= len(idx) or (allowed is not None and kk >= len(allowed)):
                return best
            tries += 1
            if tries >= 2 and allowed is None:
                # the purpose/group is rare in a large gallery: search only its templates
                with self.repo.session() as s:
                    stmt = (select(TemplateRow.id).join(IdentityRow, IdentityRow.id == TemplateRow.identity_id)
                            .where(TemplateRow.model == model_id))
                    allowed = np.asarray(s.execute(policy.eligible(stmt, purpose, group_id, exclude, now))
                                         .scalars().all(), dtype=np.int64)
                if not len(allowed):
                    return {}
                kk = max(kk, min(len(allowed), 4 * top_k + 32))
            else:
                kk *= 8

    def duplicates(self, identity_id: str, protected: np.ndarray, prot: Protector) -> list[str]:
        """Advisory: other identities this face already matches at the strict point."""
        model_id = self.model.model_id
        try:
            strict = calibrated_point(model_id, "strict")
        except (ModelError, InputError):
            return []
        idx = self.sync.sync()
        if idx is None or len(idx) == 0:
            return []
        if prot is not self.keys.protector:
            return []  # a rotation swapped keys meanwhile; skip the advisory check
        hits = self.rescore(idx, protected, 20, purpose=None, group_id=None, exclude=identity_id, protector=prot)
        return [f"face already matches identity {iid} ({name}) at similarity {sim:.3f}, above the strict "
                f"operating point ({strict.threshold:.3f})"
                for iid, (sim, _tid, name) in hits.items() if sim >= strict.threshold]

    # -- 1:N -----------------------------------------------------------------------
    def search(self, image_or_embedding: object, purpose: Purpose | str, actor: str, top_k: int,
               group: Group | str | None, *, sync_first: bool) -> list[Match]:
        p = parse_purpose(purpose)
        if not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
            raise InputError(f"top_k must be an integer in 1..{MAX_TOP_K}")
        group_id = group_name = None
        if group is not None:
            with self.repo.session() as s:
                group_id = self.repo.group_id(s, group)
                group_name = self.repo.group_name(s, group_id)
        q = self.audited_query_vector(image_or_embedding, actor, "search", p, group_name)
        with self.sync.lock:
            idx = self.sync.sync() if sync_first else self.sync.ensure(int(q.shape[0]))
            if idx is not None and idx.dim != q.shape[0]:
                raise IncompatibleTemplatesError(f"query has {q.shape[0]} dimensions, the gallery {idx.dim}")
            prot = self.keys.protector  # one key domain for the whole search, even if a rotation swaps
            qa = prot.transform(q)
        best = (self.rescore(idx, qa, top_k, purpose=p, group_id=group_id, protector=prot)
                if idx is not None and len(idx) else {})
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:top_k]
        model_id = self.model.model_id
        matches = []
        for iid, (sim, tid, name) in ranked:
            try:
                op = strongest_operating_point(model_id, sim)
            except ModelError:
                op = None
            matches.append(Match(identity_id=iid, similarity=sim, operating_point=op, template_id=str(tid),
                                 display_name=name))
        with self.repo.transaction() as s:
            hits = [m for m in matches if m.operating_point]
            self.repo.audit.append(s, actor=actor, action="search", purpose=p.value, target=group_name,
                                   outcome="match" if hits else "no_match",
                                   details={"top_k": top_k, "candidates": len(matches), "model": model_id})
            for m in hits:
                self.repo.audit.append(s, actor=actor, action="match", purpose=p.value, target=m.identity_id,
                                       outcome=m.operating_point,
                                       details={"similarity": round(m.similarity, 4), "template_id": m.template_id})
        return matches

    # -- 1:1 -----------------------------------------------------------------------
    def verify(self, identity_id: str, image_or_embedding: object, purpose: Purpose | str, actor: str,
               operating_point: str) -> IdentityVerification:
        p = parse_purpose(purpose)
        model_id = self.model.model_id
        point = calibrated_point(model_id, operating_point)
        identity_id = str(identity_id)
        now = utcnow()
        with self.repo.session() as s:
            known = self.repo.exists(s, identity_id)
            consented = known and policy.may_match(s, identity_id, p, now)
        if not known:
            self.repo.record(actor, "verify", purpose=p.value, target=identity_id, outcome="rejected",
                             details={"error": NotFoundError.code})
            raise NotFoundError(f"no identity {identity_id!r}")
        if not consented:
            self.repo.record(actor, "verify", purpose=p.value, target=identity_id, outcome="refused",
                             details={"error": ConsentRequiredError.code})
            raise ConsentRequiredError(f"identity {identity_id!r} has no valid consent for purpose {p.value!r}")
        q = self.audited_query_vector(image_or_embedding, actor, "verify", p, identity_id)
        best = self.best_own_template(identity_id, q)
        if best is None:
            self.repo.record(actor, "verify", purpose=p.value, target=identity_id, outcome="rejected",
                             details={"error": "no_templates", "model": model_id})
            raise NotFoundError(f"identity {identity_id!r} has no enrolled {model_id} face to verify against")
        sim, tid = best
        result = IdentityVerification(
            identity_id=identity_id, template_id=str(tid), similarity=sim,
            decision=Decision.MATCH if sim >= point.threshold else Decision.NO_MATCH,
            threshold=point.threshold, operating_point=point.name, target_fmr=point.target_fmr, model=model_id)
        self.repo.record(actor, "verify", purpose=p.value, target=identity_id, outcome=result.decision.value,
                         details={"similarity": round(sim, 4), "operating_point": point.name, "model": model_id,
                                  "template_id": str(tid)})
        return result

    def best_own_template(self, identity_id: str, q: np.ndarray) -> tuple[float, int] | None:
        """Best cosine of the unit probe `q` over the identity's templates (None: it has none).
        Exact and independent of the rest of the gallery: no index involved."""
        with self.sync.lock:
            if self.keys.follow_file():
                self.sync.drop_index()
            prot = self.keys.protector  # one key domain for the probe and every template
        qa = prot.transform(q)
        model_id = self.model.model_id
        best: tuple[float, int] | None = None
        for r in self.repo.own_templates(identity_id, model_id):
            if int(r.dim) != qa.shape[0]:
                raise IncompatibleTemplatesError(f"probe has {qa.shape[0]} dimensions, the templates {r.dim}")
            vec = prot.to_active(r.key_id, r.nonce, r.ciphertext, template_aad(identity_id, model_id))
            sim = float(np.dot(vec, qa))
            if best is None or sim > best[0]:
                best = (sim, int(r.id))
        return best
