"""The searcher: open-set 1:N identification and 1:1 verification against the gallery.

Why: this is where a face becomes an identification, so the privacy rules meet the
index here: the probe step is audited even when it fails (an attempt to identify
someone), the index only shortlists, and the shortlist is filtered in SQL by the
consent policy and re-scored exactly from the stored templates. A stale index can
therefore never return an erased or unconsented identity, nor a wrong score.
"""

from __future__ import annotations

import math

import numpy as np
from sqlalchemy import case, func, select

from ..errors import IncompatibleTemplatesError, InputError, ModelError
from ..settings import GallerySettings
from ..face.verification import operating_point as calibrated_point
from ..face.verification import strongest_operating_point
from ..types import Decision, Embedding, Match, QualityReport
from ..vision.quality import gate_reasons
from . import policy
from .consent import Purpose, parse_purpose
from .errors import ConsentRequiredError, NotFoundError
from .index.base import VectorIndex
from .model import FaceModel
from .openset import OpenSetPoint, SearchMode, open_set_point
from .protection import Protector, TemplateKeys
from .records import Group, IdentityVerification
from .repository import IdentityRepository
from .store import IdentityRow, TemplateRow, utcnow
from .sync import IndexSync, template_aad

MAX_TOP_K = 1000

#: fused exact similarity per identity: (similarity, best template id, display name, templates fused)
Ranked = dict[str, tuple[float, int, str, int]]

# weight of a template enrolled without a quality report (an embedding handed in directly)
UNKNOWN_QUALITY_WEIGHT = 0.5
MIN_QUALITY_WEIGHT = 0.05


def fuse(items: list[tuple[np.ndarray, float | None, int, str]], q: np.ndarray) -> tuple[float, int, str, int]:
    """One score per identity from all its templates: the cosine of the probe with the
    quality-weighted mean template (renormalised).

    Why not the best template: the max over k templates is k chances for a stranger,
    so its impostor tail is k times heavier than the single-template tail the open-set
    threshold is calibrated on. The mean template averages out each photo's pose and
    lighting, and the quality weights keep a poor photo from pulling it off
    (bench/identify.py, multi-photo table). With one template it is that template.
    """
    vecs = np.stack([v for v, _q, _t, _n in items]).astype(np.float32)
    w = np.array([UNKNOWN_QUALITY_WEIGHT if qs is None else min(1.0, max(MIN_QUALITY_WEIGHT, float(qs)))
                  for _v, qs, _t, _n in items], dtype=np.float32)
    sims = vecs @ q
    best = int(np.argmax(sims))
    if len(items) == 1:
        fused = float(sims[0])
    else:
        mean = w @ vecs
        norm = float(np.linalg.norm(mean))
        fused = float(mean @ q) / norm if norm > 1e-9 else float(sims[best])
    return fused, items[best][2], items[best][3], len(items)


class Searcher:
    def __init__(self, repo: IdentityRepository, sync: IndexSync, keys: TemplateKeys, model: FaceModel,
                 settings: GallerySettings | None = None) -> None:
        self.repo = repo
        self.sync = sync
        self.keys = keys
        self.model = model
        self.settings = settings or GallerySettings()

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
        """Fused exact similarity per eligible identity: index shortlist, SQL filter, then every
        template of each shortlisted identity read from the store and fused (`fuse`)."""
        prot = protector or self.keys.protector
        model_id = self.model.model_id
        now = utcnow()
        kk, tries, allowed = max(4 * top_k, 32), 0, None
        while True:
            _s, ids = idx.search(q.reshape(1, -1), kk, allowed=allowed)
            cand = [int(i) for i in ids[0] if i >= 0]
            best: Ranked = {}
            if cand:
                per: dict[str, list] = {}
                with self.repo.session() as s:
                    shortlisted = select(TemplateRow.identity_id).where(TemplateRow.id.in_(cand))
                    stmt = (select(TemplateRow.id, TemplateRow.identity_id, TemplateRow.key_id, TemplateRow.nonce,
                                   TemplateRow.ciphertext, TemplateRow.quality_score, IdentityRow.display_name)
                            .join(IdentityRow, IdentityRow.id == TemplateRow.identity_id)
                            .where(TemplateRow.identity_id.in_(shortlisted), TemplateRow.model == model_id))
                    for r in s.execute(policy.eligible(stmt, purpose, group_id, exclude, now)).all():
                        vec = prot.to_active(r.key_id, r.nonce, r.ciphertext, template_aad(r.identity_id, model_id))
                        per.setdefault(r.identity_id, []).append((vec, r.quality_score, int(r.id), r.display_name))
                for iid, items in per.items():
                    best[iid] = fuse(items, q)
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

    def gallery_size(self, purpose: Purpose, group_id: str | None) -> tuple[int, int]:
        """N of the open-set decision: identities this search can return (consented, in the group,
        with a template of this model), and how many of them hold several templates (fused)."""
        per = (select(TemplateRow.identity_id, func.count(TemplateRow.id).label("k"))
               .join(IdentityRow, IdentityRow.id == TemplateRow.identity_id)
               .where(TemplateRow.model == self.model.model_id))
        per = policy.eligible(per, purpose, group_id, None, utcnow()).group_by(TemplateRow.identity_id).subquery()
        stmt = select(func.count(), func.coalesce(func.sum(case((per.c.k > 1, 1), else_=0)), 0)).select_from(per)
        with self.repo.session() as s:
            n, fused = s.execute(stmt).one()
        return int(n or 0), int(fused or 0)

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
                for iid, (sim, _tid, name, _k) in hits.items() if sim >= strict.threshold]

    # -- 1:N -----------------------------------------------------------------------
    def _group(self, group: Group | str | None) -> tuple[str | None, str | None]:
        if group is None:
            return None, None
        with self.repo.session() as s:
            group_id = self.repo.group_id(s, group)
            return group_id, self.repo.group_name(s, group_id)

    def point(self, purpose: Purpose | str, group: Group | str | None, *, mode: SearchMode | str | None = None,
              fpir: float | None = None, group_id: str | None = None) -> OpenSetPoint:
        """The open-set operating point of a search for `purpose` (and `group`) at the gallery's size now."""
        p = parse_purpose(purpose)
        m = policy.search_mode(p, mode)
        target = policy.search_fpir(p, m, self.settings, fpir)
        if group_id is None and group is not None:
            group_id, _ = self._group(group)
        n, fused = self.gallery_size(p, group_id)
        return open_set_point(self.model.model_id, m, target, n, max_fnir=self.settings.openset_max_fnir,
                              n_fused=fused)

    def search(self, image_or_embedding: object, purpose: Purpose | str, actor: str, top_k: int,
               group: Group | str | None, *, sync_first: bool, mode: SearchMode | str | None = None,
               fpir: float | None = None) -> list[Match]:
        p = parse_purpose(purpose)
        m = policy.search_mode(p, mode)  # refuse a forbidden mode before touching the probe
        target = policy.search_fpir(p, m, self.settings, fpir)
        if not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
            raise InputError(f"top_k must be an integer in 1..{MAX_TOP_K}")
        group_id, group_name = self._group(group)
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
        n, fused = self.gallery_size(p, group_id)
        point = open_set_point(model_id, m, target, n, max_fnir=self.settings.openset_max_fnir, n_fused=fused)
        threshold = point.threshold if math.isfinite(point.threshold) else None
        matches = []
        for rank, (iid, (sim, tid, name, k)) in enumerate(ranked):
            try:
                op = strongest_operating_point(model_id, sim)
            except ModelError:
                op = None
            decided = (m is SearchMode.DECISION and rank == 0 and threshold is not None and sim >= threshold)
            matches.append(Match(identity_id=iid, similarity=sim, operating_point=op, template_id=str(tid),
                                 display_name=name, is_match=decided, threshold=threshold, fpir=point.fpir,
                                 n=point.n, mode=m.value, templates=k))
        op_details = point.to_dict()
        op_details.pop("note")  # the audit keeps the numbers; the note is for the caller
        with self.repo.transaction() as s:
            if m is SearchMode.DECISION:
                hits = [x for x in matches if x.is_match]
                outcome, action, hit_outcome = ("match" if hits else "no_match"), "match", "match"
            else:  # a list for a human: nothing in it is a match, the audit says so
                hits = [x for x in matches if x.above_threshold]
                outcome, action, hit_outcome = "candidates", "candidate", "for_review"
            self.repo.audit.append(s, actor=actor, action="search", purpose=p.value, target=group_name,
                                   outcome=outcome,
                                   details={"top_k": top_k, "candidates": len(matches), "model": model_id,
                                            "review": "human" if m is SearchMode.CANDIDATES else "automatic",
                                            **op_details})
            for x in hits:
                self.repo.audit.append(s, actor=actor, action=action, purpose=p.value, target=x.identity_id,
                                       outcome=hit_outcome,
                                       details={"similarity": round(x.similarity, 4), "template_id": x.template_id,
                                                "mode": m.value, "fpir": point.fpir, "n": point.n,
                                                "threshold": op_details["threshold"]})
        return matches

    # -- 1:1 -----------------------------------------------------------------------
    def verify(self, identity_id: str, image_or_embedding: object, purpose: Purpose | str, actor: str,
               operating_point: str, quality: QualityReport | None = None) -> IdentityVerification:
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
        if quality is None and not isinstance(image_or_embedding, (Embedding, np.ndarray)):
            # a photo: take its template and its quality report in one pass, for the gate
            try:
                t = self.model.pipeline.primary_template(image_or_embedding)
            except InputError as exc:
                self.repo.record(actor, "verify", purpose=p.value, target=identity_id, outcome="rejected",
                                 details={"error": exc.code})
                raise
            image_or_embedding, quality = t.embedding, t.quality
        q = self.audited_query_vector(image_or_embedding, actor, "verify", p, identity_id)
        reasons = tuple(f"a:{r}" for r in gate_reasons(quality, self.model.pipeline.settings)) if quality else ()
        best = self.best_own_template(identity_id, q)
        if best is None:
            self.repo.record(actor, "verify", purpose=p.value, target=identity_id, outcome="rejected",
                             details={"error": "no_templates", "model": model_id})
            raise NotFoundError(f"identity {identity_id!r} has no enrolled {model_id} face to verify against")
        sim, tid = best
        result = IdentityVerification(
            identity_id=identity_id, template_id=str(tid), similarity=sim,
            decision=(Decision.INCONCLUSIVE if reasons else
                      Decision.MATCH if sim >= point.threshold else Decision.NO_MATCH),
            threshold=point.threshold, operating_point=point.name, target_fmr=point.target_fmr, model=model_id,
            reasons=reasons)
        details = {"similarity": round(sim, 4), "operating_point": point.name, "model": model_id,
                   "template_id": str(tid)}
        if reasons:
            details["reasons"] = list(reasons)
        self.repo.record(actor, "verify", purpose=p.value, target=identity_id, outcome=result.decision.value,
                         details=details)
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
