"""The plate store: reads, hot-lists, retention and the audit trail, in the main database.

Plates are personal data (they name a vehicle's keeper), so this store is built like
the gallery: every read carries its purpose; crops are sealed with the snapshot key
(`io.secrets.SealedBlob`, the key file outside the database); reads older than
`plates.retention_days` are deleted; and every search, crop export and hot-list change
is appended, in the same transaction, to the gallery's keyed HMAC audit chain
(`gallery.audit`), so `GET /v1/audit` and `clearsight audit verify` cover plates too.

Hot-lists need a recorded legal basis: `create_hotlist` refuses one without it, and
`hits` (the only way an alert is decided) asks the database again for lists with a
non-empty basis, not expired and alerting, so a row written around this API or a
basis that lapsed cannot alert. Storing a read is not audited (it is the camera's
job, at video rate); finding one is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...db import connect, new_id, session_factory
from ...db.base import as_utc, utcnow
from ...db.tables.events import events_table
from ...db.tables.plates import HotListPlateRow, HotListRow, PlateReadRow
from ...errors import InputError
from ...gallery.audit import AuditLog, open_chain_key, require_actor
from ...gallery.errors import ConflictError, NotFoundError
from ...io.secrets import SealedBlob, load_or_create_key
from .records import HotList, HotListHit, PlatePurge, StoredRead, parse_purpose
from .text import normalise_plate, wildcard_like

if TYPE_CHECKING:
    from ...config import Settings

AUDIT_PURPOSE = "plates"
MAX_PLATES_PER_CALL = 1000


class LegalBasisRequiredError(InputError):
    """A hot-list without a recorded legal basis: it may not exist, so it can never alert."""

    code = "legal_basis_required"


def _utc(dt: datetime | None, name: str) -> datetime | None:
    if dt is None:
        return None
    if not isinstance(dt, datetime):
        raise InputError(f"{name} must be a date-time")
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _legal_basis(text: str | None) -> str:
    basis = (text or "").strip()
    if len(basis) < 3:
        raise LegalBasisRequiredError(
            "a hot-list needs a recorded legal basis (e.g. 'GDPR 6(1)(e), police request 2026/114'): a plate may "
            "alert only under one")
    if len(basis) > 255:
        raise InputError("the legal basis has at most 255 characters")
    return basis


class PlateStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ps = settings.plates
        self._engine = connect(settings.gallery_database_url(), "main",
                               sqlite_synchronous=settings.gallery.sqlite_synchronous)
        self._sessions = session_factory(self._engine)
        self.audit = AuditLog(open_chain_key(self.transaction, settings.audit_key_file()))
        self._crops = SealedBlob(load_or_create_key(settings.events_key_file()), b"clearsight/plate-crop")
        self._purge_lock = threading.Lock()
        self._last_purge = 0.0
        self._events_engine: Engine | None = None

    @classmethod
    def open(cls, settings: Settings | None = None) -> PlateStore:
        if settings is None:
            from ...config import get_settings

            settings = get_settings()
        return cls(settings)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions() as s, s.begin():
            yield s

    def close(self) -> None:
        self._engine.dispose()
        if self._events_engine is not None:
            self._events_engine.dispose()

    # -- reads ----------------------------------------------------------------
    def record(self, *, camera: str, at: datetime | float, text: str, confidence: float, country: str,
               track_id: int | None = None, votes: int = 1, crop_jpeg: bytes | None = None,
               purpose: str | None = None) -> int:
        """Store one (voted) read; returns its id. Runs the retention purge when it is due."""
        when = datetime.fromtimestamp(at, tz=timezone.utc) if isinstance(at, (int, float)) else _utc(at, "at")
        row = PlateReadRow(
            camera=str(camera)[:255], at=when, text=normalise_plate(text), confidence=float(confidence),
            country=str(country)[:8], track_id=track_id, votes=int(votes), purpose=(purpose or self.ps.purpose)[:32],
            crop=self._crops.seal(crop_jpeg) if crop_jpeg and self.ps.store_crops else None)
        with self.transaction() as s:
            s.add(row)
            s.flush()
            rid = int(row.id)
        self.purge_if_due()
        return rid

    def search(self, pattern: str, *, actor: str, camera: str | None = None, since: datetime | None = None,
               until: datetime | None = None, limit: int | None = None) -> list[StoredRead]:
        """Reads whose plate matches `pattern` (`?` one character, `*` any run), newest first; audited."""
        actor = require_actor(actor)
        like = wildcard_like(pattern, min_literals=self.ps.min_search_chars)
        since, until = _utc(since, "since"), _utc(until, "until")
        if since and until and since > until:
            raise InputError("since is after until")
        limit = min(int(limit or self.ps.search_limit), self.ps.search_limit)
        if limit < 1:
            raise InputError("limit must be at least 1")
        self.purge_if_due()
        q = select(PlateReadRow.id, PlateReadRow.camera, PlateReadRow.at, PlateReadRow.text, PlateReadRow.confidence,
                   PlateReadRow.country, PlateReadRow.track_id, PlateReadRow.votes, PlateReadRow.purpose,
                   PlateReadRow.crop.is_not(None)).where(PlateReadRow.text.like(like),
                                                         PlateReadRow.at >= self.cutoff())  # expired: never shown
        if camera:
            q = q.where(PlateReadRow.camera == camera)
        if since:
            q = q.where(PlateReadRow.at >= since)
        if until:
            q = q.where(PlateReadRow.at <= until)
        q = q.order_by(PlateReadRow.at.desc(), PlateReadRow.id.desc()).limit(limit)
        with self.transaction() as s:
            out = [StoredRead(r[0], r[1], as_utc(r[2]), r[3], float(r[4]), r[5], r[6], int(r[7]), r[8], bool(r[9]))
                   for r in s.execute(q)]
            self.audit.append(s, actor=actor, action="plates.search", purpose=AUDIT_PURPOSE, outcome="ok",
                              details={"pattern": pattern, "camera": camera, "since": since and since.isoformat(),
                                       "until": until and until.isoformat(), "results": len(out)})
        return out

    def crop(self, read_id: int, *, actor: str) -> bytes:
        """The JPEG crop of one read (an export of personal data: audited)."""
        actor = require_actor(actor)
        with self.transaction() as s:
            row = s.get(PlateReadRow, int(read_id))
            if row is None or row.crop is None or as_utc(row.at) < self.cutoff():
                raise NotFoundError(f"no plate crop for read {read_id}")
            self.audit.append(s, actor=actor, action="plates.export", purpose=AUDIT_PURPOSE, target=f"read:{read_id}",
                              outcome="ok", details={"what": "crop"})
            return self._crops.open(row.crop)

    def record_export(self, *, actor: str, pattern: str, count: int, fmt: str) -> None:
        """Audit an export of search results (e.g. a CSV download) beyond the search itself."""
        with self.transaction() as s:
            self.audit.append(s, actor=require_actor(actor), action="plates.export", purpose=AUDIT_PURPOSE,
                              outcome="ok", details={"pattern": pattern, "results": count, "format": fmt})

    def count_reads(self) -> int:
        with self._sessions() as s:
            return int(s.execute(select(func.count(PlateReadRow.id))).scalar() or 0)

    # -- retention ------------------------------------------------------------
    def cutoff(self, now: datetime | None = None) -> datetime:
        """Reads from before this are past retention: deleted by the next purge, never shown before it."""
        return (_utc(now, "now") or utcnow()) - timedelta(days=self.ps.retention_days)

    def apply_retention(self, *, actor: str, now: datetime | None = None) -> PlatePurge:
        """Delete reads older than `retention_days` (with their crops), and the `plate.*` events
        of the event timeline as old (they carry the plate text and crop too); audited."""
        actor = require_actor(actor)
        before = self.cutoff(now)
        events = self._purge_events(before)
        with self.transaction() as s:
            deleted = s.execute(delete(PlateReadRow).where(PlateReadRow.at < before)).rowcount or 0
            if deleted or events or not actor.startswith("system:"):
                self.audit.append(s, actor=actor, action="plates.retention", purpose=AUDIT_PURPOSE, outcome="ok",
                                  details={"deleted": int(deleted), "events_deleted": events,
                                           "before": before.isoformat()})
        self._last_purge = time.monotonic()
        return PlatePurge(int(deleted), before, events)

    def _purge_events(self, before: datetime) -> int:
        if self._events_engine is None:
            self._events_engine = connect(self.settings.events_database_url(), "events",
                                          sqlite_synchronous=self.settings.gallery.sqlite_synchronous)
        t = events_table
        with self._events_engine.begin() as conn:
            res = conn.execute(delete(t).where(t.c.type.like("plate.%"), t.c.time < before.timestamp()))
            return int(res.rowcount or 0)

    def purge_if_due(self) -> PlatePurge | None:
        """The periodic purge: at most every `purge_interval_s`, by whichever writer comes first."""
        if time.monotonic() - self._last_purge < self.ps.purge_interval_s and self._last_purge:
            return None
        if not self._purge_lock.acquire(blocking=False):
            return None
        try:
            return self.apply_retention(actor="system:retention")
        finally:
            self._purge_lock.release()

    # -- hot-lists ------------------------------------------------------------
    def create_hotlist(self, name: str, *, purpose: str, legal_basis: str | None, actor: str,
                       expires_at: datetime | None = None, alert: bool = True,
                       plates: Iterable[str] = ()) -> HotList:
        actor = require_actor(actor)
        name = (name or "").strip()
        if not name or len(name) > 100:
            raise InputError("a hot-list needs a name of 1-100 characters")
        p = parse_purpose(purpose)
        basis = _legal_basis(legal_basis)
        exp = _utc(expires_at, "expires_at")
        now = utcnow()
        if exp is not None and exp <= now:
            raise InputError("expires_at is in the past: a hot-list must still be valid when created")
        texts = self._plates(plates)
        row = HotListRow(id=new_id(), name=name, purpose=p.value, legal_basis=basis, created_by=actor, created_at=now,
                         expires_at=exp, alert=bool(alert))
        try:
            with self.transaction() as s:
                s.add(row)
                s.flush()
                s.add_all(HotListPlateRow(hotlist_id=row.id, text=t, note="", added_by=actor, added_at=now)
                          for t in texts)
                self.audit.append(s, actor=actor, action="plates.hotlist.create", purpose=p.value, target=row.id,
                                  outcome="ok", details={"name": name, "legal_basis": basis, "alert": bool(alert),
                                                         "expires_at": exp and exp.isoformat(), "plates": texts})
        except IntegrityError:
            raise ConflictError(f"a hot-list named {name!r} already exists") from None
        return self.hotlist(row.id)

    def hotlists(self) -> list[HotList]:
        with self._sessions() as s:
            rows = s.execute(select(HotListRow).order_by(HotListRow.name)).scalars().all()
            return [self._to_hotlist(s, r) for r in rows]

    def hotlist(self, hotlist_id: str) -> HotList:
        with self._sessions() as s:
            return self._to_hotlist(s, self._get(s, hotlist_id))

    def update_hotlist(self, hotlist_id: str, *, actor: str, legal_basis: str | None = None,
                       expires_at: datetime | None = None, clear_expiry: bool = False,
                       alert: bool | None = None) -> HotList:
        """Change a list's basis, expiry or alerting; the audit entry names the changed fields."""
        actor = require_actor(actor)
        changes: dict[str, Any] = {}
        with self.transaction() as s:
            row = self._get(s, hotlist_id, lock=True)
            if legal_basis is not None:
                row.legal_basis = changes["legal_basis"] = _legal_basis(legal_basis)
            if clear_expiry:
                row.expires_at, changes["expires_at"] = None, None
            elif expires_at is not None:
                exp = _utc(expires_at, "expires_at")
                if exp <= utcnow():
                    raise InputError("expires_at is in the past")
                row.expires_at, changes["expires_at"] = exp, exp.isoformat()
            if alert is not None:
                row.alert = changes["alert"] = bool(alert)
            if not changes:
                raise InputError("nothing to change: give legal_basis, expires_at or alert")
            self.audit.append(s, actor=actor, action="plates.hotlist.update", purpose=row.purpose, target=row.id,
                              outcome="ok", details=changes)
        return self.hotlist(hotlist_id)

    def delete_hotlist(self, hotlist_id: str, *, actor: str) -> None:
        actor = require_actor(actor)
        with self.transaction() as s:
            row = self._get(s, hotlist_id, lock=True)
            s.execute(delete(HotListPlateRow).where(HotListPlateRow.hotlist_id == row.id))
            s.delete(row)
            self.audit.append(s, actor=actor, action="plates.hotlist.delete", purpose=row.purpose, target=row.id,
                              outcome="ok", details={"name": row.name})

    def add_plates(self, hotlist_id: str, plates: Iterable[str], *, actor: str, note: str = "") -> HotList:
        actor = require_actor(actor)
        texts = self._plates(plates)
        if not texts:
            raise InputError("give at least one plate to add")
        now = utcnow()
        with self.transaction() as s:
            row = self._get(s, hotlist_id, lock=True)
            have = set(s.execute(select(HotListPlateRow.text).where(HotListPlateRow.hotlist_id == row.id)).scalars())
            new = [t for t in texts if t not in have]
            s.add_all(HotListPlateRow(hotlist_id=row.id, text=t, note=(note or "")[:255], added_by=actor, added_at=now)
                      for t in new)
            self.audit.append(s, actor=actor, action="plates.hotlist.add", purpose=row.purpose, target=row.id,
                              outcome="ok", details={"plates": new, "already": len(texts) - len(new)})
        return self.hotlist(hotlist_id)

    def remove_plate(self, hotlist_id: str, plate: str, *, actor: str) -> HotList:
        actor = require_actor(actor)
        text = normalise_plate(plate)
        with self.transaction() as s:
            row = self._get(s, hotlist_id, lock=True)
            n = s.execute(delete(HotListPlateRow).where(and_(HotListPlateRow.hotlist_id == row.id,
                                                             HotListPlateRow.text == text))).rowcount
            if not n:
                raise NotFoundError(f"plate {text} is not on hot-list {row.name!r}")
            self.audit.append(s, actor=actor, action="plates.hotlist.remove", purpose=row.purpose, target=row.id,
                              outcome="ok", details={"plate": text})
        return self.hotlist(hotlist_id)

    def hits(self, plate: str, *, camera: str | None = None, now: datetime | None = None) -> list[HotListHit]:
        """The active hot-lists `plate` is on: the one decision of whether a read alerts.

        Active means a non-empty legal basis on record, alerting on, not expired; each hit
        is audited (a camera looked the plate up on a watch list)."""
        text = normalise_plate(plate)
        now = _utc(now, "now") or utcnow()
        q = (select(HotListRow, HotListPlateRow.note)
             .join(HotListPlateRow, HotListPlateRow.hotlist_id == HotListRow.id)
             .where(HotListPlateRow.text == text, HotListRow.alert.is_(True),
                    func.length(func.trim(HotListRow.legal_basis)) >= 3,
                    or_(HotListRow.expires_at.is_(None), HotListRow.expires_at > now))
             .order_by(HotListRow.name))
        with self.transaction() as s:
            hits = [HotListHit(r.id, r.name, r.purpose, r.legal_basis, note) for r, note in s.execute(q)]
            for h in hits:
                self.audit.append(s, actor=f"camera:{camera}" if camera else "system:plates", action="plates.hotlist.match",
                                  purpose=h.purpose, target=h.hotlist_id, outcome="alert",
                                  details={"plate": text, "hotlist": h.hotlist})
        return hits

    # -- helpers --------------------------------------------------------------
    @staticmethod
    def _plates(plates: Iterable[str]) -> list[str]:
        if isinstance(plates, str):
            plates = [plates]
        out = list(dict.fromkeys(normalise_plate(p) for p in plates))
        if len(out) > MAX_PLATES_PER_CALL:
            raise InputError(f"at most {MAX_PLATES_PER_CALL} plates per call")
        return out

    @staticmethod
    def _get(s: Session, hotlist_id: str, *, lock: bool = False) -> HotListRow:
        q = select(HotListRow).where(HotListRow.id == str(hotlist_id))
        row = s.execute(q.with_for_update() if lock else q).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"no hot-list with id {hotlist_id!r}")
        return row

    @staticmethod
    def _to_hotlist(s: Session, r: HotListRow) -> HotList:
        plates = tuple(s.execute(select(HotListPlateRow.text).where(HotListPlateRow.hotlist_id == r.id)
                                 .order_by(HotListPlateRow.text)).scalars())
        return HotList(r.id, r.name, r.purpose, r.legal_basis, r.created_by, as_utc(r.created_at),
                       as_utc(r.expires_at), bool(r.alert), plates)


__all__ = ["AUDIT_PURPOSE", "LegalBasisRequiredError", "PlateStore"]
