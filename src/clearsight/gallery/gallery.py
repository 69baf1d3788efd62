"""The gallery facade: identities, consent, enrolment, 1:N search, erasure, audit.

Why a facade: users (the service, the CLI, the stream analysers) see one object with
one stable API, while the parts behind it each own one concern: the identity
repository (rows and transactions), the consent policy, store->index sync, the
searcher, enrolment and key rotation. The SQL store is the truth; the vector index
is derived from it, and search filters and re-scores its shortlist in SQL, so an
erased or unconsented identity can never come back even from a stale index.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..config import Settings, get_settings
from ..errors import ClearsightError, InputError
from ..settings import GallerySettings
from ..types import Embedding, Match, QualityReport
from . import audit as audit_log
from . import policy
from .consent import Purpose, parse_expiry, parse_purpose, to_consent
from .enrolment import Enroller
from .errors import ConflictError, ConsentRequiredError, NotFoundError
from .index.base import VectorIndex
from .model import FaceModel
from .openset import OpenSetPoint, SearchMode
from .protection import TemplateKeys
from .records import (
    AuditEntry,
    AuditVerification,
    Consent,
    EnrolOutcome,
    EnrolResult,
    Group,
    Identity,
    IdentityVerification,
    NewIdentityEnrolment,
    PurgeReport,
    RotationReport,
    checked_attributes,
)
from .repository import IdentityRepository, to_identity
from .rotation import rotate_key
from .search import MAX_TOP_K, Searcher
from .store import ConsentRow, IdentityRow, TemplateRow, as_utc, new_id, utcnow
from .sync import IndexSync, template_aad

if TYPE_CHECKING:
    from ..face.pipeline import FacePipeline
    from .retention import RetentionCutoff

__all__ = ["Gallery", "MAX_TOP_K"]


def _page(offset: int, limit: int) -> None:
    if offset < 0 or not 0 < limit <= 10_000:
        raise InputError("offset must be >= 0 and limit in 1..10000")


class Gallery:
    def __init__(self, settings: Settings, *, pipeline: FacePipeline | None = None,
                 model_id: str | None = None) -> None:
        self.settings = settings
        self.gs = gs = settings.gallery
        self.url = settings.gallery_database_url()
        self._model = FaceModel(pipeline, model_id)
        self._repo = IdentityRepository(self.url, sqlite_synchronous=gs.sqlite_synchronous,
                                        audit_key_file=settings.audit_key_file())
        self._keys = TemplateKeys(settings.template_key_file())
        self._sync = IndexSync(settings, self._repo, self._keys, self._model)
        self._searcher = Searcher(self._repo, self._sync, self._keys, self._model, gs)
        self._enroller = Enroller(self._repo, self._sync, self._keys, self._model, self._searcher,
                                  settings.data_dir / "gallery-images")
        self._closed = False

    @classmethod
    def open(cls, settings: Settings | None = None, *, pipeline: FacePipeline | None = None,
             model_id: str | None = None, gallery: GallerySettings | None = None) -> Gallery:
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
    def pipeline(self) -> FacePipeline:
        return self._model.pipeline

    @property
    def model_id(self) -> str:
        return self._model.model_id

    @property
    def _engine(self):  # noqa: ANN202 - for tests and tools that inspect the store directly
        return self._repo.engine

    def _session(self):  # noqa: ANN202
        return self._repo.session()

    def sync(self, force: bool = False) -> VectorIndex | None:
        """Bring the index up to date with the store (other processes write too)."""
        return self._sync.sync(force)

    # -- identities ----------------------------------------------------------
    @staticmethod
    def _identity_fields(display_name: str, attributes: dict | None) -> tuple[str, dict[str, Any]]:
        if not display_name or not str(display_name).strip():
            raise InputError("display_name is required")
        return str(display_name).strip()[:255], checked_attributes(attributes or {})

    def create_identity(self, external_id: str | None, display_name: str, attributes: dict | None = None, *,
                        actor: str) -> Identity:
        actor = audit_log.require_actor(actor)
        name, attrs = self._identity_fields(display_name, attributes)
        with self._repo.unique(f"an identity with external id {external_id!r}"), self._repo.transaction() as s:
            row = self._repo.add_identity(s, external_id, name, attrs)
            self._audit_created(s, row, actor)
        return to_identity(row, 0)

    def _audit_created(self, s, row: IdentityRow, actor: str) -> None:  # noqa: ANN001
        ext = row.external_id and audit_log.pseudonym(row.pseudonym_key, "external_id", row.external_id)
        self._repo.audit.append(s, actor=actor, action="identity.create", target=row.id, outcome="ok",
                                details={"external_id": ext})

    def audit_pseudonym(self, identity_id: str, value: str, field: str = "external_id") -> str:
        """How the audit log writes `value` of this identity (e.g. to find the rows that
        name its external id). Impossible once the identity is erased: that is the point."""
        with self._repo.transaction() as s:
            return audit_log.pseudonym(self._repo.pseudonym_key(s, str(identity_id)), field, str(value))

    def get_identity(self, identity_id: str) -> Identity:
        return self._repo.get_identity(identity_id)

    def find_identity(self, external_id: str) -> Identity:
        return self._repo.find_identity(external_id)

    def list_identities(self, offset: int = 0, limit: int = 100) -> list[Identity]:
        _page(offset, limit)
        return self._repo.list_identities(offset, limit)

    def count_identities(self) -> int:
        return self._repo.count_identities()

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
        if attributes is not None:
            attributes = checked_attributes(attributes)
        if external_id is not None and not str(external_id).strip():
            raise InputError("external_id must not be empty")
        wanted: dict[str, Any] = {}
        if display_name is not None:
            wanted["display_name"] = str(display_name).strip()[:255]
        if attributes is not None:
            wanted["attributes"] = attributes
        if external_id is not None:
            wanted["external_id"] = str(external_id)[:255]
        with self._repo.unique(f"an identity with external id {external_id!r}"), self._repo.transaction() as s:
            changed = self._repo.update_identity(s, str(identity_id), wanted)
            self._repo.audit.append(s, actor=actor, action="identity.update", target=str(identity_id),
                                    outcome="ok", details={"changed": changed})
        return self.get_identity(identity_id)

    def erase_identity(self, identity_id: str, actor: str) -> dict[str, int]:
        """Remove the identity, its templates, consents, memberships, stored images and
        index entries; only the audit entry recording the erasure remains. Its pseudonym
        key goes with the row, so its earlier audit rows can no longer be linked to it,
        and on SQLite the deleted bytes are zeroed and the WAL truncated."""
        actor = audit_log.require_actor(actor)
        with self._repo.transaction() as s:
            tpl, n_cons = self._repo.delete_identity(s, str(identity_id))
            self._repo.audit.append(s, actor=actor, action="erase", target=str(identity_id), outcome="ok",
                                    details={"templates": len(tpl), "consents": n_cons})
        self._drop_templates([int(t.id) for t in tpl], [t.image_path for t in tpl])
        self._repo.scrub()  # the name and the pseudonym key leave the WAL too
        return {"templates": len(tpl), "consents": n_cons}

    def _drop_templates(self, ids: list[int], images: list[str | None]) -> None:
        for p in images:
            if p:
                try:
                    os.unlink(p)
                except FileNotFoundError:
                    pass
        self._sync.dropped(ids)

    def export_identity(self, identity_id: str, actor: str) -> dict[str, Any]:
        """Everything held about an identity except biometric data (access requests)."""
        actor = audit_log.require_actor(actor)
        ident = self.get_identity(identity_id)
        with self._repo.transaction() as s:
            templates = self._repo.template_summaries(s, identity_id)
            groups = self._repo.group_names_of(s, identity_id)
            self._repo.audit.append(s, actor=actor, action="export", target=identity_id, outcome="ok")
        return {
            "identity": ident.to_dict(),
            "consents": [c.to_dict() for c in self.list_consents(identity_id)],
            "groups": groups,
            "templates": templates,
        }

    # -- consent ---------------------------------------------------------------
    def add_consent(self, identity_id: str, purpose: Purpose | str, legal_basis: str, granted_by: str,
                    expires_at: datetime | None = None, *, actor: str) -> Consent:
        actor = audit_log.require_actor(actor)
        row = self._consent_row(identity_id, purpose, legal_basis, granted_by, expires_at)
        with self._repo.transaction() as s:
            self._grant(s, row, actor)
        return to_consent(row)

    @staticmethod
    def _consent_row(identity_id: str, purpose: Purpose | str, legal_basis: str, granted_by: str,
                     expires_at: datetime | None) -> ConsentRow:
        p = parse_purpose(purpose)
        if not legal_basis or not str(legal_basis).strip():
            raise InputError("legal_basis is required (e.g. consent, contract, legal_obligation)")
        policy.check_legal_basis(p, legal_basis)
        if not granted_by or not str(granted_by).strip():
            raise InputError("granted_by is required")
        now = utcnow()
        exp = parse_expiry(expires_at, now)
        return ConsentRow(id=new_id(), identity_id=str(identity_id), purpose=p.value,
                          legal_basis=str(legal_basis)[:128], granted_by=str(granted_by)[:255], granted_at=now,
                          expires_at=exp)

    def _grant(self, s, row: ConsentRow, actor: str) -> None:  # noqa: ANN001
        self._repo.add_consent(s, row)
        self._repo.audit.append(s, actor=actor, action="consent.grant", purpose=row.purpose, target=row.identity_id,
                                outcome="ok", details={"consent_id": row.id, "legal_basis": row.legal_basis,
                                                       "expires_at": row.expires_at.isoformat()
                                                       if row.expires_at else None})

    def withdraw_consent(self, consent_id: str, actor: str) -> Consent:
        actor = audit_log.require_actor(actor)
        with self._repo.transaction() as s:
            row = self._repo.get_consent(s, consent_id)
            if row.withdrawn_at is None:
                row.withdrawn_at, row.withdrawn_by = utcnow(), actor
                self._repo.audit.append(s, actor=actor, action="consent.withdraw", purpose=row.purpose,
                                        target=row.identity_id, outcome="ok", details={"consent_id": row.id})
            return to_consent(row)

    def list_consents(self, identity_id: str) -> list[Consent]:
        return self._repo.list_consents(identity_id)

    # -- enrolment -------------------------------------------------------------
    def enrol(self, identity_id: str, image: object, actor: str, *,
               store_image: bool | None = None) -> EnrolResult:
        """Detect, gate on quality, embed and store one face of `identity_id`.

        Raises NotFoundError, ConsentRequiredError (no valid consent for any purpose),
        NoFaceError, QualityRejectedError(reasons); each refusal is audited."""
        actor = audit_log.require_actor(actor)
        self._enroller.require_enrollable(identity_id, actor)
        keep = self.gs.store_images if store_image is None else store_image
        candidate = self._enroller.from_image(image, actor, identity_id, keep)
        return self._enroller.store(str(identity_id), candidate, actor)

    def enrol_embedding(self, identity_id: str, embedding: Embedding, actor: str, *,
                         quality: QualityReport | None = None) -> EnrolResult:
        """Enrol a template computed elsewhere (same embedder model): bulk imports, tests."""
        actor = audit_log.require_actor(actor)
        candidate = self._enroller.from_embedding(embedding, quality)
        self._enroller.require_enrollable(identity_id, actor)
        return self._enroller.store(str(identity_id), candidate, actor)

    def enroll(self, identity_id: str, image: object, actor: str, **options: Any) -> EnrolResult:
        """Deprecated: the spelling of 0.1; use `enrol`."""
        warnings.warn("Gallery.enroll is deprecated; use Gallery.enrol", DeprecationWarning, stacklevel=2)
        return self.enrol(identity_id, image, actor, **options)

    def enroll_embedding(self, identity_id: str, embedding: Embedding, actor: str, **options: Any) -> EnrolResult:
        """Deprecated: the spelling of 0.1; use `enrol_embedding`."""
        warnings.warn("Gallery.enroll_embedding is deprecated; use Gallery.enrol_embedding", DeprecationWarning,
                      stacklevel=2)
        return self.enrol_embedding(identity_id, embedding, actor, **options)

    def enrol_new_identity(self, external_id: str | None, display_name: str, images: Sequence[object], *,
                            actor: str, attributes: dict | None = None, purpose: Purpose | str | None = None,
                            legal_basis: str = "consent", granted_by: str | None = None,
                            expires_at: datetime | None = None,
                            store_image: bool | None = None) -> NewIdentityEnrolment:
        """Create an identity, record its consent for `purpose` and enrol its faces, atomically.

        Every photo (or Embedding) is gated first; the identity, the consent and the
        templates that passed are then committed in one transaction. If none passes, or
        there is no consent to enrol under, nothing is created and the first refusal is
        raised (ConsentRequiredError, NoFaceError, QualityRejectedError, ...); each
        refusal is audited as by `enrol`. Photos refused next to accepted ones are
        reported in the outcomes."""
        actor = audit_log.require_actor(actor)
        name, attrs = self._identity_fields(display_name, attributes)
        if not images:
            raise InputError("give at least one photo to enrol")
        identity_id = new_id()
        consent = (self._consent_row(identity_id, purpose, legal_basis, granted_by or actor, expires_at)
                   if purpose else None)
        if consent is None:
            self._repo.record(actor, "enrol", target=identity_id, outcome="refused",
                              details={"error": "consent_required"})
            raise ConsentRequiredError("a new identity needs a consent or legal basis (a purpose) to be enrolled")
        if external_id:
            try:
                self._repo.find_identity(external_id)
            except NotFoundError:
                pass
            else:
                raise ConflictError(f"an identity with external id {external_id!r} already exists")
        keep = self.gs.store_images if store_image is None else store_image
        candidates, outcomes = [], []
        for item in images:
            try:
                c = (self._enroller.from_embedding(item, None) if isinstance(item, Embedding)
                     else self._enroller.from_image(item, actor, identity_id, keep))
            except ClearsightError as exc:
                outcomes.append(exc)
            else:
                candidates.append(c)
                outcomes.append(c)
        if not candidates:
            raise next(o for o in outcomes if isinstance(o, ClearsightError))

        def create(s) -> None:  # noqa: ANN001
            row = self._repo.add_identity(s, external_id, name, attrs, identity_id)
            self._audit_created(s, row, actor)
            self._grant(s, consent, actor)

        with self._repo.unique(f"an identity with external id {external_id!r}"):
            stored = iter(self._enroller.store_new(identity_id, candidates, actor, create))
        return NewIdentityEnrolment(
            identity=self.get_identity(identity_id),
            outcomes=tuple(EnrolOutcome(None, o) if isinstance(o, ClearsightError) else EnrolOutcome(next(stored))
                           for o in outcomes))

    def load_image_of(self, template_id: str) -> bytes:
        """The stored enrolment image (JPEG) of a template, if images are kept."""
        row = self._repo.template(template_id)
        if row is None or not row.image_path or not os.path.exists(row.image_path):
            raise NotFoundError(f"no stored image for template {template_id!r}")
        with open(row.image_path, "rb") as f:
            blob = f.read()
        return self._keys.protector.decrypt_blob(blob, template_aad(row.identity_id, row.model))

    # -- search ----------------------------------------------------------------
    def search(self, image_or_embedding: object, purpose: Purpose | str, actor: str, top_k: int = 5,
               group: Group | str | None = None, *, mode: SearchMode | str | None = None,
               fpir: float | None = None) -> list[Match]:
        """Top-k identities among those holding a valid consent for `purpose` (and in
        `group`), each scored by quality-weighted fusion of its templates.

        Open-set: the search holds a false-positive identification rate (`fpir`, by
        default the purpose's from GallerySettings) over the N identities it compares,
        and `Match.is_match` is that decision: true for at most one hit in `decision`
        mode (the purpose's default for access, login, facepay ...), never in
        `candidates` mode (watchlist, investigation, missing_person: a list for human
        review). Each hit carries the `threshold`, `fpir` and `n` used; the search is
        audited with its mode and operating point."""
        actor = audit_log.require_actor(actor)
        return self._searcher.search(image_or_embedding, purpose, actor, top_k, group,
                                     sync_first=self.gs.sync_on_search, mode=mode, fpir=fpir)

    def search_point(self, purpose: Purpose | str, group: Group | str | None = None, *,
                     mode: SearchMode | str | None = None, fpir: float | None = None) -> OpenSetPoint:
        """The operating point a search would use now (threshold, FPIR, N, expected FNIR), without a probe."""
        return self._searcher.point(purpose, group, mode=mode, fpir=fpir)

    def verify(self, identity_id: str, image_or_embedding: object, purpose: Purpose | str, actor: str,
               operating_point: str = "balanced", *, quality: QualityReport | None = None) -> IdentityVerification:
        """1:1: is the probe the claimed identity (log-in, KYC, face-pay)?

        Compares only with that identity's own templates, read from the store, so the
        answer is exact and independent of the rest of the gallery (a 1:N ranking could
        push the claimed identity out of its top-K). Needs a valid consent for `purpose`;
        every call is audited with the score and operating point, never the vector.
        A photo (or an embedding with its `quality` report) that fails the quality gate
        gives `inconclusive`, never a match."""
        actor = audit_log.require_actor(actor)
        return self._searcher.verify(identity_id, image_or_embedding, purpose, actor, operating_point, quality)

    # -- groups ----------------------------------------------------------------
    def create_group(self, name: str, *, actor: str = "system") -> Group:
        if not name or not str(name).strip():
            raise InputError("a group name is required")
        actor = audit_log.require_actor(actor)
        with self._repo.unique(f"a group named {name!r}"), self._repo.transaction() as s:
            row = self._repo.add_group(s, str(name).strip()[:255])
            self._repo.audit.append(s, actor=actor, action="group.create", target=row.name, outcome="ok")
        return Group(row.id, row.name, as_utc(row.created_at), 0)

    def add_member(self, group: Group | str, identity_id: str, *, actor: str = "system") -> None:
        with self._repo.transaction() as s:
            gid = self._repo.group_id(s, group)
            if self._repo.add_member(s, gid, str(identity_id)):
                self._repo.audit.append(s, actor=audit_log.require_actor(actor), action="group.add",
                                        target=str(identity_id), outcome="ok", details={"group_id": gid})

    def remove_member(self, group: Group | str, identity_id: str, *, actor: str = "system") -> None:
        with self._repo.transaction() as s:
            gid = self._repo.group_id(s, group)
            if self._repo.remove_member(s, gid, str(identity_id)):
                self._repo.audit.append(s, actor=audit_log.require_actor(actor), action="group.remove",
                                        target=str(identity_id), outcome="ok", details={"group_id": gid})

    def list_groups(self) -> list[Group]:
        return self._repo.list_groups()

    # -- audit -----------------------------------------------------------------
    def audit_entries(self, offset: int = 0, limit: int = 100, *, action: str | None = None,
                      target: str | None = None, newest_first: bool = False) -> list[AuditEntry]:
        _page(offset, limit)
        with self._repo.session() as s:
            return self._repo.audit.entries(s, offset, limit, action=action, target=target,
                                            newest_first=newest_first)

    def count_audit_entries(self, action: str | None = None, target: str | None = None) -> int:
        """How many entries `audit_entries` pages through with the same filters."""
        with self._repo.session() as s:
            return self._repo.audit.count(s, action=action, target=target)

    def verify_audit(self) -> AuditVerification:
        with self._repo.session() as s:
            return self._repo.audit.verify(s)

    # -- retention -------------------------------------------------------------
    def purge_expired(self, actor: str) -> PurgeReport:
        """Apply the retention rules of the settings now (see `gallery.retention`)."""
        from .retention import purge

        return purge(self, audit_log.require_actor(actor))

    def apply_retention(self, cutoff: RetentionCutoff, actor: str) -> PurgeReport:
        """Delete lapsed consents, and the templates (with their images and index entries)
        of identities left without a legal basis or older than the cutoff, in one
        transaction with their audit entries. The identity records stay, so a renewed
        consent can re-enrol them."""
        actor = audit_log.require_actor(actor)
        with self._repo.transaction() as s:
            n_cons = self._repo.delete_consents(s, policy.lapsed_consent(cutoff.now))
            cond = TemplateRow.identity_id.in_(policy.without_basis(cutoff.now))
            if cutoff.templates_before is not None:
                cond = cond | (TemplateRow.created_at < cutoff.templates_before)
            rows = self._repo.template_refs(s, cond)
            ids = [int(r.id) for r in rows]
            self._repo.delete_templates(s, ids)
            affected = sorted({r.identity_id for r in rows})
            for iid in affected:
                self._repo.audit.append(s, actor=actor, action="retention.purge", target=iid, outcome="ok",
                                        details={"templates": sum(1 for r in rows if r.identity_id == iid)})
            self._repo.audit.append(s, actor=actor, action="retention.run", outcome="ok",
                                    details={"consents": n_cons, "templates": len(ids), "identities": len(affected)})
        self._drop_templates(ids, [r.image_path for r in rows])
        return PurgeReport(consents_purged=n_cons, templates_purged=len(ids), identities_affected=len(affected))

    # -- keys ------------------------------------------------------------------
    def rotate_key(self, actor: str, new_key: bytes | None = None, batch: int = 1000) -> RotationReport:
        """Re-protect every template under a new key while searches keep running.

        Key file: a new key is generated, becomes active for new enrolments, every
        stored template is re-encrypted and re-transformed, the index is rebuilt in
        the new domain and swapped in, then the old keys are deleted (revoking every
        copy of the old templates). Env keys: set the new key in CLEARSIGHT_TEMPLATE_KEY
        and the old one in CLEARSIGHT_TEMPLATE_KEY_PREVIOUS, then rotate."""
        return rotate_key(self._repo, self._keys, self._sync, audit_log.require_actor(actor), new_key, batch)

    # -- lifecycle -------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        n_id, n_t = self._repo.counts()
        return {"identities": n_id, "templates": n_t, "index": self._sync.describe(), "key_id": self._keys.active,
                "database": self._repo.engine.url.render_as_string(hide_password=True)}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._sync.close()
        self._repo.dispose()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
