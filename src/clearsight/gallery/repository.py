"""The identity repository: identities, consents, groups and template rows on the SQL store.

Why: the SQL store is the gallery's truth, and every other part (consent policy,
search, index sync, key rotation, retention) reads or writes its rows. Keeping the
queries here gives one owner of the schema's use and of transactions: a write and
its audit entry always commit (or roll back) together in `transaction()`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Row, delete, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from .audit import AuditLog, open_chain_key
from .consent import to_consent
from .errors import ConflictError, NotFoundError
from .records import Consent, Group, Identity
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

#: rows per IN (...) query: below every backend's bound-parameter limit
CHUNK = 5000


def _secure_delete(dbapi_conn, _record) -> None:  # noqa: ANN001
    """Deleted rows are overwritten with zeros, not left in free pages: an erased
    person's name must not survive in the database file."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def to_identity(row: IdentityRow, count: int) -> Identity:
    return Identity(id=row.id, external_id=row.external_id, display_name=row.display_name,
                    attributes=dict(row.attributes or {}), created_at=as_utc(row.created_at), template_count=count)


def _template_count():  # noqa: ANN202
    return (select(func.count(TemplateRow.id)).where(TemplateRow.identity_id == IdentityRow.id)
            .correlate(IdentityRow).scalar_subquery())


class IdentityRepository:
    def __init__(self, url: str, *, sqlite_synchronous: str, audit_key_file: Path) -> None:
        self.engine: Engine = make_engine(url, sqlite_synchronous=sqlite_synchronous)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _secure_delete)
        migrate(self.engine)
        self._sessions: sessionmaker = session_factory(self.engine)
        self.audit = AuditLog(open_chain_key(self.transaction, audit_key_file))

    # -- sessions ----------------------------------------------------------------
    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions() as s, s.begin():
            yield s

    @contextmanager
    def unique(self, what: str) -> Iterator[None]:
        """Turn a unique-constraint violation into a ConflictError naming `what`."""
        try:
            yield
        except IntegrityError:
            raise ConflictError(f"{what} already exists") from None

    def record(self, actor: str, action: str, **entry: Any) -> None:
        """An audit entry on its own (a refusal, a rejected probe): nothing else to commit."""
        with self.transaction() as s:
            self.audit.append(s, actor=actor, action=action, **entry)

    def scrub(self) -> None:
        """After an erasure: fold the write-ahead log into the database and truncate it, so
        the erased rows' old page images leave `gallery.db-wal` (secure_delete has zeroed
        them in the database file). SQLite only; PostgreSQL reclaims dead rows on VACUUM."""
        if self.engine.dialect.name != "sqlite":
            return
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            busy, _log, _done = cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            cur.close()
        finally:
            raw.close()
        if busy:
            log.warning("WAL checkpoint after erasure incomplete: another connection is reading")

    def dispose(self) -> None:
        self.engine.dispose()

    # -- identities --------------------------------------------------------------
    def add_identity(self, s: Session, external_id: str | None, display_name: str,
                     attributes: dict[str, Any], identity_id: str | None = None) -> IdentityRow:
        row = IdentityRow(id=identity_id or new_id(), external_id=external_id or None, display_name=display_name,
                          attributes=dict(attributes), created_at=utcnow(), pseudonym_key=secrets.token_bytes(32))
        s.add(row)
        s.flush()
        return row

    def require_identity(self, s: Session, identity_id: str) -> IdentityRow:
        row = s.get(IdentityRow, str(identity_id))
        if row is None:
            raise NotFoundError(f"no identity {identity_id!r}")
        return row

    def pseudonym_key(self, s: Session, identity_id: str) -> bytes:
        """The identity's pseudonym key, made on first use for identities older than pseudonyms."""
        row = self.require_identity(s, identity_id)
        if row.pseudonym_key is None:
            row.pseudonym_key = secrets.token_bytes(32)
        return row.pseudonym_key

    def exists(self, s: Session, identity_id: str) -> bool:
        return s.get(IdentityRow, str(identity_id)) is not None

    def get_identity(self, identity_id: str) -> Identity:
        with self.session() as s:
            r = s.execute(select(IdentityRow, _template_count()).where(IdentityRow.id == str(identity_id))).first()
        if r is None:
            raise NotFoundError(f"no identity {identity_id!r}")
        return to_identity(r[0], int(r[1]))

    def find_identity(self, external_id: str) -> Identity:
        with self.session() as s:
            r = s.execute(select(IdentityRow, _template_count()).where(IdentityRow.external_id == external_id)).first()
        if r is None:
            raise NotFoundError(f"no identity with external id {external_id!r}")
        return to_identity(r[0], int(r[1]))

    def list_identities(self, offset: int, limit: int) -> list[Identity]:
        with self.session() as s:
            rows = s.execute(select(IdentityRow, _template_count()).order_by(IdentityRow.created_at, IdentityRow.id)
                             .offset(offset).limit(limit)).all()
        return [to_identity(r[0], int(r[1])) for r in rows]

    def count_identities(self) -> int:
        with self.session() as s:
            return int(s.execute(select(func.count(IdentityRow.id))).scalar() or 0)

    def update_identity(self, s: Session, identity_id: str, wanted: dict[str, Any]) -> list[str]:
        """Set the fields of `wanted` that differ; returns their names, sorted."""
        row = self.require_identity(s, identity_id)
        changed = sorted(k for k, v in wanted.items() if getattr(row, k) != v)
        for k in changed:
            setattr(row, k, wanted[k])
        s.flush()
        return changed

    def delete_identity(self, s: Session, identity_id: str) -> tuple[list[Row], int]:
        """Delete the identity and everything hanging off it; returns its (id, image_path)
        template rows and the number of consents deleted."""
        self.require_identity(s, identity_id)
        tpl = s.execute(select(TemplateRow.id, TemplateRow.image_path)
                        .where(TemplateRow.identity_id == identity_id)).all()
        n_cons = s.execute(delete(ConsentRow).where(ConsentRow.identity_id == identity_id)).rowcount
        s.execute(delete(GroupMemberRow).where(GroupMemberRow.identity_id == identity_id))
        s.execute(delete(TemplateRow).where(TemplateRow.identity_id == identity_id))
        s.execute(delete(IdentityRow).where(IdentityRow.id == identity_id))
        return list(tpl), int(n_cons or 0)

    def template_summaries(self, s: Session, identity_id: str) -> list[dict[str, Any]]:
        rows = s.execute(select(TemplateRow.id, TemplateRow.model, TemplateRow.quality_score,
                                TemplateRow.created_at).where(TemplateRow.identity_id == identity_id)).all()
        return [{"template_id": str(t.id), "model": t.model, "quality_score": t.quality_score,
                 "created_at": as_utc(t.created_at).isoformat()} for t in rows]

    def group_names_of(self, s: Session, identity_id: str) -> list[str]:
        return sorted(s.execute(select(GroupRow.name).join(GroupMemberRow, GroupMemberRow.group_id == GroupRow.id)
                                .where(GroupMemberRow.identity_id == identity_id)).scalars().all())

    # -- consents ----------------------------------------------------------------
    def add_consent(self, s: Session, row: ConsentRow) -> ConsentRow:
        self.require_identity(s, row.identity_id)
        s.add(row)
        return row

    def get_consent(self, s: Session, consent_id: str) -> ConsentRow:
        row = s.get(ConsentRow, str(consent_id))
        if row is None:
            raise NotFoundError(f"no consent {consent_id!r}")
        return row

    def list_consents(self, identity_id: str) -> list[Consent]:
        with self.session() as s:
            rows = s.execute(select(ConsentRow).where(ConsentRow.identity_id == str(identity_id))
                             .order_by(ConsentRow.granted_at)).scalars().all()
        return [to_consent(r) for r in rows]

    # -- groups ------------------------------------------------------------------
    def group_id(self, s: Session, group: Group | str) -> str:
        key = group.id if isinstance(group, Group) else str(group)
        row = s.execute(select(GroupRow).where((GroupRow.id == key) | (GroupRow.name == key))).scalars().first()
        if row is None:
            raise NotFoundError(f"no group {key!r}")
        return row.id

    def group_name(self, s: Session, group_id: str) -> str:
        return s.get(GroupRow, group_id).name

    def add_group(self, s: Session, name: str) -> GroupRow:
        row = GroupRow(id=new_id(), name=name, created_at=utcnow())
        s.add(row)
        s.flush()
        return row

    def add_member(self, s: Session, group_id: str, identity_id: str) -> bool:
        self.require_identity(s, identity_id)
        if s.get(GroupMemberRow, (group_id, str(identity_id))) is not None:
            return False
        s.add(GroupMemberRow(group_id=group_id, identity_id=str(identity_id)))
        return True

    def remove_member(self, s: Session, group_id: str, identity_id: str) -> bool:
        return bool(s.execute(delete(GroupMemberRow).where(GroupMemberRow.group_id == group_id,
                                                           GroupMemberRow.identity_id == str(identity_id))).rowcount)

    def list_groups(self) -> list[Group]:
        with self.session() as s:
            cnt = (select(func.count()).where(GroupMemberRow.group_id == GroupRow.id).correlate(GroupRow)
                   .scalar_subquery())
            rows = s.execute(select(GroupRow, cnt).order_by(GroupRow.name)).all()
        return [Group(r[0].id, r[0].name, as_utc(r[0].created_at), int(r[1])) for r in rows]

    # -- templates ---------------------------------------------------------------
    def add_template(self, s: Session, row: TemplateRow) -> TemplateRow:
        s.add(row)
        s.flush()
        return row

    def template_dim(self, model: str) -> int | None:
        with self.session() as s:
            d = s.execute(select(TemplateRow.dim).where(TemplateRow.model == model).limit(1)).scalar()
        return None if d is None else int(d)

    def template_ids(self, model: str, after: int = 0) -> np.ndarray:
        with self.session() as s:
            ids = s.execute(select(TemplateRow.id).where(TemplateRow.model == model, TemplateRow.id > after)
                            ).scalars().all()
        return np.asarray(ids, dtype=np.int64)

    def template_state(self, model: str) -> tuple[int, int]:
        """(count, max id) of the model's templates: what the index must mirror."""
        with self.session() as s:
            n, mx = s.execute(select(func.count(TemplateRow.id), func.max(TemplateRow.id))
                              .where(TemplateRow.model == model)).one()
        return int(n or 0), int(mx or 0)

    def protected_rows(self, ids: Sequence[int]) -> Iterator[Row]:
        """(id, identity_id, key_id, nonce, ciphertext) of the templates `ids`, in chunks."""
        with self.session() as s:
            for i in range(0, len(ids), CHUNK):
                yield from s.execute(
                    select(TemplateRow.id, TemplateRow.identity_id, TemplateRow.key_id, TemplateRow.nonce,
                           TemplateRow.ciphertext).where(TemplateRow.id.in_([int(x) for x in ids[i : i + CHUNK]]))
                ).all()

    def own_templates(self, identity_id: str, model: str) -> list[Row]:
        with self.session() as s:
            return list(s.execute(select(TemplateRow.id, TemplateRow.dim, TemplateRow.key_id, TemplateRow.nonce,
                                         TemplateRow.ciphertext)
                                  .where(TemplateRow.identity_id == identity_id, TemplateRow.model == model)
                                  .order_by(TemplateRow.id)).all())

    def template(self, template_id: str) -> TemplateRow | None:
        with self.session() as s:
            return s.get(TemplateRow, int(template_id))

    def delete_consents(self, s: Session, where: ColumnElement[bool]) -> int:
        return int(s.execute(delete(ConsentRow).where(where)).rowcount or 0)

    def template_refs(self, s: Session, where: ColumnElement[bool]) -> list[Row]:
        """(id, identity_id, image_path) of the templates matching `where`."""
        return list(s.execute(select(TemplateRow.id, TemplateRow.identity_id, TemplateRow.image_path)
                              .where(where)).all())

    def delete_templates(self, s: Session, ids: Sequence[int]) -> None:
        for i in range(0, len(ids), CHUNK):
            s.execute(delete(TemplateRow).where(TemplateRow.id.in_(list(ids[i : i + CHUNK]))))

    def counts(self) -> tuple[int, int]:
        """(identities, templates)."""
        with self.session() as s:
            n_id = s.execute(select(func.count(IdentityRow.id))).scalar() or 0
            n_t = s.execute(select(func.count(TemplateRow.id))).scalar() or 0
        return int(n_id), int(n_t)
