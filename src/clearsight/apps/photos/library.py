"""The photo library: import a folder, group its faces by person, name, merge, split,
search, erase.

Why a library of its own and not gallery identities: the people in someone's photos
never enrolled anywhere. Their faces live in `photo_faces` (templates sealed with the
gallery's key ring), and their vectors in a FAISS collection of their own under
`<data_dir>/photos/index/`, which no gallery search opens: a watchlist, access or any
other gallery purpose cannot reach a library face, named or not.

Crash safety: one photo is one transaction (photo row, its faces, new people). The
thumbnail files are written before it, named by content hash (rewriting is harmless);
the index is derived data, reconciled with the table when the library opens. So an
import killed at any point re-runs from the first photo whose transaction did not
commit, and the content hash keeps every photo once.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ...config import Settings, get_settings
from ...db import make_engine, migrate, new_id, session_factory, utcnow
from ...db.base import as_utc
from ...db.tables.photos import PhotoConsentRow, PhotoFaceRow, PhotoPersonRow, PhotoRow
from ...errors import InputError
from ...gallery.audit import AuditLog, open_chain_key, require_actor
from ...gallery.consent import Purpose, parse_expiry, parse_purpose
from ...gallery.errors import ConflictError, ConsentRequiredError, NotFoundError
from ...gallery.index.base import VectorIndex, create_index, reconcile
from ...gallery.protection import TemplateKeys
from ...types import BBox
from .clustering import ClusterRule, assign_window
from .media import face_crop_jpeg, read_photo, thumbnail_jpeg, walk_photos, write_private
from .records import ImportProblem, ImportReport, LibraryFace, Person, Photo

if TYPE_CHECKING:
    from ...face.pipeline import FaceTemplate

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (done, total, path)
CHUNK = 5000


@contextmanager
def single_threaded_search() -> Iterator[None]:
    """An import asks the collection one photo's faces at a time: FAISS's OpenMP threads
    only spin on such small queries (measured 8x slower on a busy 2-core machine)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


@dataclass(frozen=True)
class _Ready:
    """One photo prepared for storing (the pixels are not kept: a large photo is tens of MB)."""

    path: Path
    sha256: str
    size: int
    width: int
    height: int
    orientation: int
    taken_at: datetime | None
    templates: tuple[FaceTemplate, ...]
    crops: tuple[bytes, ...]  # a JPEG per face, in `templates` order


class _Batch:
    """The transaction an import writes a few photos in: committed every `photos.commit_every`
    photos or `photos.commit_s` seconds, whichever comes first. Why not one per photo: each
    commit waits for the disk (SQLite FULL sync), ~a quarter of the storing thread's time on
    a busy machine. A crash loses at most the open batch, which the next run imports again
    (the photos are known by content once committed, never before)."""

    def __init__(self, lib: PhotoLibrary, index: VectorIndex | None, known: set[str]) -> None:
        self.lib, self.index, self.known = lib, index, known
        self._session: Session | None = None
        self._started = 0.0
        self._photos = 0
        self._shas: list[str] = []
        self._faces: list[int] = []

    def session(self) -> Session:
        if self._session is None:
            self._session = self.lib._sessions()  # noqa: SLF001 - the library's own session factory
            self._session.begin()
            self._started = time.monotonic()
        return self._session

    def photo(self, sha: str) -> None:
        self._photos += 1
        self._shas.append(sha)
        self.known.add(sha)  # a copy later in the same batch is a duplicate

    def faces(self, ids: list[int]) -> None:
        self._faces.extend(ids)

    def commit_if_due(self) -> None:
        ps = self.lib.ps
        if self._session is not None and (self._photos >= ps.commit_every
                                          or time.monotonic() - self._started >= ps.commit_s):
            self.commit()

    def commit(self) -> None:
        if self._session is not None:
            try:
                self._session.commit()
            finally:
                self._session.close()
            self._session, self._photos, self._shas, self._faces = None, 0, [], []

    def rollback(self) -> None:
        """Nothing of the open batch stays: rows, index entries, known hashes."""
        if self._session is not None:
            self._session.rollback()
            self._session.close()
            self._session = None
        if self._faces and self.index is not None:
            self.index.remove(np.asarray(self._faces, np.int64))
        self.known.difference_update(self._shas)
        self._photos, self._shas, self._faces = 0, [], []


def face_aad(photo_sha: str, model: str) -> bytes:
    """Binds a face template's ciphertext to its photo's content and model."""
    return f"clearsight/photos/{photo_sha}/{model}".encode()


def person_target(person_id: str) -> str:
    return f"photos-person:{person_id}"


class PhotoLibrary:
    def __init__(self, settings: Settings, *, pipeline=None) -> None:  # noqa: ANN001 - FacePipeline, lazily
        self.settings = settings
        self.ps = settings.photos
        self.dir = settings.photo_library_dir()
        self.engine = make_engine(settings.gallery_database_url(), sqlite_synchronous=settings.gallery.sqlite_synchronous)
        migrate(self.engine, "main")
        self._sessions = session_factory(self.engine)
        self.audit = AuditLog(open_chain_key(self.transaction, settings.audit_key_file()))
        self.keys = TemplateKeys(settings.template_key_file())
        self._pipeline = pipeline
        self._index: VectorIndex | None = None
        self._index_lock = threading.RLock()  # the service calls from many threads
        self.rule = ClusterRule(self.ps.similarity, self.ps.min_faces, self.ps.vote)

    @classmethod
    def open(cls, settings: Settings | None = None, *, pipeline=None) -> PhotoLibrary:  # noqa: ANN001
        return cls(settings or get_settings(), pipeline=pipeline)

    # -- parts -------------------------------------------------------------------
    @property
    def pipeline(self):  # noqa: ANN201 - FacePipeline (face layer; loaded on first import only)
        if self._pipeline is None:
            from ...face.pipeline import FacePipeline

            # one model call per import worker at a time, each on one core (see `_prepared`)
            self._pipeline = FacePipeline(settings=self.settings.face, threads=1 if self.workers() > 1 else None)
        return self._pipeline

    @property
    def model_id(self) -> str:
        return self.pipeline.embedder.model_id

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions() as s, s.begin():
            yield s

    def _index_path(self) -> Path:
        return self.dir / "index" / f"{re.sub(r'[^A-Za-z0-9_.+-]', '_', self.model_id)}.{self.keys.active}.faiss"

    def index(self) -> VectorIndex:
        """The library's own face collection (the active key's domain), reconciled with
        the table on first use and after a key rotation."""
        with self._index_lock:
            return self._open_index()

    def _open_index(self) -> VectorIndex:
        if self.keys.follow_file() and self._index is not None:
            self._index.close()
            self._index = None
        if self._index is None:
            path = self._index_path()
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._index = create_index("auto", int(self.pipeline.embedder.dim), path=path,
                                       seal_key=self.keys.protector.file_key(), threads=self.settings.threads)
            with self._sessions() as s:
                ids = np.asarray(s.scalars(select(PhotoFaceRow.id).where(PhotoFaceRow.model == self.model_id)).all(),
                                 dtype=np.int64)
            added, removed = reconcile(self._index, ids, self._vectors)
            if added or removed:
                log.info("photo index reconciled: %d added, %d removed", added, removed)
                self._index.persist()
        return self._index

    def _vectors(self, ids: np.ndarray) -> np.ndarray:
        """Stored templates in the active key's domain, in `ids` order."""
        prot = self.keys.protector
        out: dict[int, np.ndarray] = {}
        with self._sessions() as s:
            for i in range(0, len(ids), CHUNK):
                rows = s.execute(select(PhotoFaceRow.id, PhotoFaceRow.key_id, PhotoFaceRow.nonce,
                                        PhotoFaceRow.ciphertext, PhotoRow.sha256)
                                 .join(PhotoRow, PhotoRow.id == PhotoFaceRow.photo_id)
                                 .where(PhotoFaceRow.id.in_([int(x) for x in ids[i:i + CHUNK]]))).all()
                for fid, kid, nonce, ct, sha in rows:
                    out[int(fid)] = prot.to_active(kid, nonce, ct, face_aad(sha, self.model_id))
        return np.stack([out[int(i)] for i in ids]) if len(ids) else np.zeros((0, 0), np.float32)

    # -- files ---------------------------------------------------------------------
    def thumbnail_path(self, sha: str) -> Path:
        return self.dir / "thumbs" / sha[:2] / f"{sha}.jpg"

    def face_path(self, face_id: int) -> Path:
        return self.dir / "faces" / f"{face_id // 1000:06d}" / f"{face_id}.jpg"

    # -- import --------------------------------------------------------------------
    def import_dir(self, root: str | Path, *, actor: str, progress: Progress | None = None) -> ImportReport:
        """Import every photo under `root` that the library does not hold yet (by content).
        Unreadable files and empty folders are reported and skipped; the rest goes on."""
        actor = require_actor(actor)
        root = Path(root).expanduser()
        if not root.is_dir():
            raise InputError(f"{root} is not a folder" if root.exists() else f"no such folder: {root}")
        root = root.resolve()
        files, empty = walk_photos(root)
        problems = [ImportProblem(str(d), "empty folder: no photos in it") for d in empty]
        index = self.index() if files else None  # opening it sets FAISS's threads: before the override below
        with single_threaded_search():
            report = self._import_files(files, problems, progress, index)
        with self.transaction() as s:
            self.audit.append(s, actor=actor, action="photos.import", outcome="ok", purpose=Purpose.PHOTOS.value,
                              details={k: v for k, v in report.to_dict().items() if k != "problems"}
                              | {"problems": len(problems)})
        return report

    def workers(self) -> int:
        return self.ps.workers or self.settings.threads

    def _import_files(self, files: list[Path], problems: list[ImportProblem], progress: Progress | None,
                      index: VectorIndex | None) -> ImportReport:
        imported = duplicates = faces = people = 0
        with self._sessions() as s:  # content hashes already held: a resumed import skips them before any model runs
            known = set(s.scalars(select(PhotoRow.sha256)))
        batch = _Batch(self, index, known)
        window: list[_Ready] = []
        window_size = min(self.ps.group_every, self.ps.commit_every)  # a transaction holds whole windows

        def flush() -> None:  # store and group the window's photos, then commit when due
            nonlocal imported, duplicates, faces, people
            if not window:
                return
            before = imported
            d, i, f, p = self._store_window(window, batch)
            duplicates, imported, faces, people = duplicates + d, imported + i, faces + f, people + p
            window.clear()
            batch.commit_if_due()
            if imported // self.ps.persist_every > before // self.ps.persist_every:
                index.persist()

        try:
            for n, (path, ready) in enumerate(self._prepared(files, known), 1):
                try:
                    photo = ready.result()
                except InputError as exc:
                    problems.append(ImportProblem(str(path), str(exc)))
                    photo = None
                except OSError as exc:
                    problems.append(ImportProblem(str(path), f"cannot read: {exc.strerror or exc}"))
                    photo = None
                if photo is not None:
                    window.append(photo)
                    if len(window) >= window_size:
                        flush()
                if progress:
                    try:
                        progress(n, len(files), str(path))
                    except BaseException:  # a stop request (the service's ImportStopped): keep what is read
                        flush()
                        batch.commit()
                        raise
            flush()
            batch.commit()
        except BaseException:
            batch.rollback()
            raise
        if index is not None and imported:
            index.persist()
        return ImportReport(len(files), imported, duplicates, faces, people, tuple(problems))

    def _prepared(self, files: list[Path], known: set[str]) -> Iterator[tuple[Path, Future[_Ready]]]:
        """(path, its preparation) in file order, prepared by `workers` threads a few photos ahead.

        Why threads: the models (onnxruntime, MediaPipe), decoding and JPEG encoding release
        the GIL, so on 2 cores two photos are prepared at once while this thread stores the
        previous ones; the storing (SQL, clustering) stays in order, in one thread, so a
        photo's people depend on the photos before it exactly as in a one-by-one import."""
        workers = self.workers()
        if workers <= 1:
            for path in files:
                f: Future[_Ready] = Future()
                try:
                    f.set_result(self._prepare(path, known))
                except Exception as exc:  # noqa: BLE001 - raised in order by the caller, as with threads
                    f.set_exception(exc)
                yield path, f
            return
        pool = ThreadPoolExecutor(workers, thread_name_prefix="photos-import")
        try:
            pending: deque[tuple[Path, Future[_Ready]]] = deque()
            todo = iter(files)
            for path in todo:
                pending.append((path, pool.submit(self._prepare, path, known)))
                if len(pending) >= 2 * workers:
                    break
            while pending:
                done = pending.popleft()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append((nxt, pool.submit(self._prepare, nxt, known)))
                yield done
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _prepare(self, path: Path, known: set[str]) -> _Ready:
        """Everything of one photo that needs no database: bytes, hash, EXIF, pixels, faces,
        templates, thumbnail (written: named by content) and face crops (encoded)."""
        photo = read_photo(path, self.settings.images)
        if photo.sha256 in known:
            return _Ready(path, photo.sha256, photo.size, photo.width, photo.height, photo.orientation,
                          photo.taken_at, (), ())
        templates = self.pipeline.templates(photo.rgb)
        write_private(self.thumbnail_path(photo.sha256), thumbnail_jpeg(photo.rgb, self.ps.thumb_size))
        crops = tuple(face_crop_jpeg(photo.rgb, t.face.box, self.ps.face_thumb_size) for t in templates)
        return _Ready(path, photo.sha256, photo.size, photo.width, photo.height, photo.orientation, photo.taken_at,
                      tuple(templates), crops)

    def _store_window(self, window: list[_Ready], batch: _Batch) -> tuple[int, int, int, int]:
        """(duplicates, imported, faces, new people) of a window of photos, stored in the
        batch's transaction (an error rolls the whole batch back: `_import_files`), then
        their faces grouped together (`assign_window`: a burst of photos of one person is
        placed as one, so a single false neighbour cannot drag it into someone else)."""
        s, index = batch.session(), batch.index
        duplicates = imported = 0
        stored: list[tuple[list[PhotoFaceRow], tuple[bytes, ...], np.ndarray]] = []
        placeholders: list[PhotoPersonRow] = []
        for photo in window:
            got = self._store(photo, batch)
            if got is None:
                duplicates += 1
                continue
            imported += 1
            if got[0]:
                stored.append((got[0], photo.crops, got[1]))
                placeholders.append(got[2])
        if not stored:
            return duplicates, imported, 0, 0
        rows = [r for rs, _, _ in stored for r in rs]
        vecs = np.concatenate([v for _, _, v in stored])
        new_people: list[str] = []

        def persons(ids: list[int]) -> dict[int, str]:
            return {int(f): p for f, p in s.execute(
                select(PhotoFaceRow.id, PhotoFaceRow.person_id).where(PhotoFaceRow.id.in_(ids)))} if ids else {}

        def new_person() -> str:
            pid = new_id()
            s.add(PhotoPersonRow(id=pid, name=None, created_at=utcnow()))
            new_people.append(pid)
            return pid

        placed = assign_window(index, np.asarray([r.id for r in rows], np.int64), vecs, persons, self.rule, new_person)
        s.flush()
        for r in rows:
            r.person_id = str(placed[r.id])
        s.flush()
        for ph in placeholders:
            s.delete(ph)
        for rs, crops, _ in stored:
            for r, crop in zip(rs, crops):
                write_private(self.face_path(r.id), crop)
        return duplicates, imported, len(rows), len(new_people)

    def _store(self, photo: _Ready, batch: _Batch
               ) -> tuple[list[PhotoFaceRow], np.ndarray, PhotoPersonRow | None] | None:
        """The photo's row and its faces' rows (under a placeholder person until the window is
        grouped) and their index entries; None for a duplicate."""
        if photo.sha256 in batch.known:
            return None
        s, index = batch.session(), batch.index
        if s.scalar(select(PhotoRow.id).where(PhotoRow.sha256 == photo.sha256)) is not None:
            batch.known.add(photo.sha256)  # another process imported it meanwhile
            return None
        templates = photo.templates
        model, prot = self.model_id, self.keys.protector
        kid = prot.active
        vecs = (prot.transform(np.stack([t.embedding.vector for t in templates]), kid) if templates
                else np.zeros((0, 0), np.float32))
        batch.photo(photo.sha256)
        row = PhotoRow(sha256=photo.sha256, path=str(photo.path), size=photo.size, width=photo.width,
                       height=photo.height, orientation=photo.orientation, taken_at=photo.taken_at, imported_at=utcnow())
        s.add(row)
        s.flush()
        if not templates:
            return [], vecs, None
        placeholder = PhotoPersonRow(id=new_id(), name=None, created_at=utcnow())
        s.add(placeholder)
        s.flush()
        rows = []
        for t, v in zip(templates, vecs):
            _, nonce, ct = prot.encrypt(v, face_aad(photo.sha256, model), kid)
            b = t.face.box
            rows.append(PhotoFaceRow(photo_id=row.id, person_id=placeholder.id, x1=b.x1, y1=b.y1, x2=b.x2, y2=b.y2,
                                     score=float(t.face.score), quality_score=float(t.quality.score), model=model,
                                     key_id=kid, nonce=nonce, ciphertext=ct))
        s.add_all(rows)
        s.flush()
        face_ids = [r.id for r in rows]
        index.add(np.asarray(face_ids, np.int64), vecs)
        batch.faces(face_ids)
        return rows, vecs, placeholder

    # -- reading -------------------------------------------------------------------
    def people(self) -> list[Person]:
        """Everyone in the library, singletons included, the most photographed first."""
        with self._sessions() as s:
            rows = s.execute(
                select(PhotoPersonRow.id, PhotoPersonRow.name, func.count(PhotoFaceRow.id),
                       func.count(func.distinct(PhotoFaceRow.photo_id)), func.min(PhotoFaceRow.id))
                .join(PhotoFaceRow, PhotoFaceRow.person_id == PhotoPersonRow.id)
                .group_by(PhotoPersonRow.id, PhotoPersonRow.name)).all()
        people = [Person(pid, name, int(nf), int(np_), int(cover)) for pid, name, nf, np_, cover in rows]
        return sorted(people, key=lambda p: (-p.photos, p.name is None, p.name or "", p.id))

    def people_with_photos(self) -> list[dict]:
        """`clearsight photos people --json`: every person with the absolute, sorted paths of their photos."""
        with self._sessions() as s:
            rows = s.execute(select(PhotoPersonRow.id, PhotoPersonRow.name, PhotoRow.path)
                             .join(PhotoFaceRow, PhotoFaceRow.person_id == PhotoPersonRow.id)
                             .join(PhotoRow, PhotoRow.id == PhotoFaceRow.photo_id)).all()
        out: dict[str, dict] = {}
        for pid, name, path in rows:
            out.setdefault(pid, {"person_id": pid, "name": name, "photos": set()})["photos"].add(path)
        people = [{**p, "photos": sorted(p["photos"])} for p in out.values()]
        return sorted(people, key=lambda p: (-len(p["photos"]), p["name"] is None, p["name"] or "", p["person_id"]))

    def get_person(self, person_id: str) -> Person:
        for p in self.people():
            if p.id == person_id:
                return p
        raise NotFoundError(f"no person {person_id!r} in the photo library")

    def person_faces(self, person_id: str) -> list[LibraryFace]:
        self._person_row(person_id)
        with self._sessions() as s:
            rows = s.scalars(select(PhotoFaceRow).where(PhotoFaceRow.person_id == person_id)
                             .order_by(PhotoFaceRow.id)).all()
            return [_face(r) for r in rows]

    def person_photos(self, person_id: str) -> list[Photo]:
        """The photos a person appears in (the library owner browsing their own photos:
        named or not, no search is made and nothing leaves the library)."""
        self._person_row(person_id)
        return self._photos_where(PhotoRow.id.in_(
            select(PhotoFaceRow.photo_id).where(PhotoFaceRow.person_id == person_id)))

    def _photos_where(self, clause, limit: int | None = None) -> list[Photo]:  # noqa: ANN001
        with self._sessions() as s:
            photos = s.scalars(select(PhotoRow).where(clause)
                               .order_by(PhotoRow.taken_at.is_(None), PhotoRow.taken_at, PhotoRow.path)
                               .limit(limit or self.ps.search_limit)).all()
            faces: dict[int, list[LibraryFace]] = {}
            for r in s.scalars(select(PhotoFaceRow).where(PhotoFaceRow.photo_id.in_([p.id for p in photos]))):
                faces.setdefault(r.photo_id, []).append(_face(r))
        return [Photo(p.id, p.path, as_utc(p.taken_at), p.width, p.height, tuple(faces.get(p.id, ())))
                for p in photos]

    def photo(self, photo_id: int) -> Photo:
        found = self._photos_where(PhotoRow.id == int(photo_id), 1)
        if not found:
            raise NotFoundError(f"no photo {photo_id} in the library")
        return found[0]

    def thumbnail(self, photo_id: int) -> bytes:
        with self._sessions() as s:
            sha = s.scalar(select(PhotoRow.sha256).where(PhotoRow.id == int(photo_id)))
        if sha is None or not self.thumbnail_path(sha).exists():
            raise NotFoundError(f"no thumbnail for photo {photo_id}")
        return self.thumbnail_path(sha).read_bytes()

    def face_crop(self, face_id: int) -> bytes:
        path = self.face_path(int(face_id))
        with self._sessions() as s:
            known = s.scalar(select(PhotoFaceRow.id).where(PhotoFaceRow.id == int(face_id)))
        if known is None or not path.exists():
            raise NotFoundError(f"no face {face_id} in the library")
        return path.read_bytes()

    def stats(self) -> dict[str, int]:
        with self._sessions() as s:
            return {"photos": s.scalar(select(func.count(PhotoRow.id))) or 0,
                    "faces": s.scalar(select(func.count(PhotoFaceRow.id))) or 0,
                    "people": s.scalar(select(func.count(PhotoPersonRow.id))) or 0,
                    "named": s.scalar(select(func.count(PhotoPersonRow.id)).where(PhotoPersonRow.name.is_not(None))) or 0}

    # -- the user's corrections ---------------------------------------------------------
    def _person_row(self, person_id: str, s: Session | None = None) -> PhotoPersonRow:
        if s is None:
            with self._sessions() as s2:
                return self._person_row(person_id, s2)
        row = s.get(PhotoPersonRow, str(person_id))
        if row is None:
            raise NotFoundError(f"no person {person_id!r} in the photo library")
        return row

    def name_person(self, person_id: str, name: str, *, legal_basis: str, actor: str,
                    expires_at: datetime | None = None) -> Person:
        """Name a person. Naming makes someone findable by name, so it records the basis
        for it (purpose `photos`: their consent, or the library owner's legal basis)."""
        actor = require_actor(actor)
        name = (name or "").strip()[:255]
        if not name:
            raise InputError("a name is required")
        if not legal_basis or not legal_basis.strip():
            raise ConsentRequiredError("naming a person needs a legal basis or consent for purpose 'photos' "
                                       "(e.g. --basis consent)")
        purpose = parse_purpose(Purpose.PHOTOS)
        now = utcnow()
        expires = parse_expiry(expires_at, now)
        with self.transaction() as s:
            row = self._person_row(person_id, s)
            clash = s.scalar(select(PhotoPersonRow.id).where(PhotoPersonRow.name == name, PhotoPersonRow.id != row.id))
            if clash is not None:
                raise ConflictError(f"another person is already named {name!r}: merge the two instead")
            row.name = name
            s.add(PhotoConsentRow(id=new_id(), person_id=row.id, purpose=purpose.value,
                                  legal_basis=legal_basis.strip()[:128], granted_by=actor, granted_at=now,
                                  expires_at=expires))
            self.audit.append(s, actor=actor, action="photos.name", outcome="ok", purpose=purpose.value,
                              target=person_target(row.id), details={"legal_basis": legal_basis.strip()[:128]})
        return self.get_person(person_id)

    def merge_people(self, keep_id: str, other_id: str, *, actor: str) -> Person:
        """Everything of `other` becomes `keep`'s. A name (and its basis) carries over when `keep` has none."""
        actor = require_actor(actor)
        if keep_id == other_id:
            raise InputError("cannot merge a person with themselves")
        with self.transaction() as s:
            keep, other = self._person_row(keep_id, s), self._person_row(other_id, s)
            if keep.name and other.name:
                raise ConflictError(f"both people are named ({keep.name!r}, {other.name!r}): erase or rename one first")
            moved = s.execute(update(PhotoFaceRow).where(PhotoFaceRow.person_id == other.id)
                              .values(person_id=keep.id)).rowcount
            if other.name and not keep.name:
                keep.name, other.name = other.name, None
                s.flush()
                s.execute(update(PhotoConsentRow).where(PhotoConsentRow.person_id == other.id)
                          .values(person_id=keep.id))
            s.delete(other)
            self.audit.append(s, actor=actor, action="photos.merge", outcome="ok", purpose=Purpose.PHOTOS.value,
                              target=person_target(keep.id), details={"merged": other.id, "faces": moved})
        return self.get_person(keep_id)

    def split_person(self, person_id: str, face_ids: Sequence[int], *, actor: str) -> Person:
        """These faces of the person become a new, anonymous person."""
        actor = require_actor(actor)
        ids = sorted({int(f) for f in face_ids})
        if not ids:
            raise InputError("name the faces to split off")
        with self.transaction() as s:
            self._person_row(person_id, s)
            have = set(s.scalars(select(PhotoFaceRow.id).where(PhotoFaceRow.person_id == person_id,
                                                                PhotoFaceRow.id.in_(ids))))
            if missing := [f for f in ids if f not in have]:
                raise NotFoundError(f"faces {missing} are not faces of person {person_id}")
            total = s.scalar(select(func.count(PhotoFaceRow.id)).where(PhotoFaceRow.person_id == person_id))
            if total == len(ids):
                raise InputError("a split must leave the person at least one face")
            new = PhotoPersonRow(id=new_id(), name=None, created_at=utcnow())
            s.add(new)
            s.flush()
            s.execute(update(PhotoFaceRow).where(PhotoFaceRow.id.in_(ids)).values(person_id=new.id))
            self.audit.append(s, actor=actor, action="photos.split", outcome="ok", purpose=Purpose.PHOTOS.value,
                              target=person_target(person_id), details={"new_person": new.id, "faces": len(ids)})
        return self.get_person(new.id)

    def move_face(self, face_id: int, person_id: str, *, actor: str) -> LibraryFace:
        """Put one face under another person; a person left without faces is removed."""
        actor = require_actor(actor)
        with self.transaction() as s:
            face = s.get(PhotoFaceRow, int(face_id))
            if face is None:
                raise NotFoundError(f"no face {face_id} in the library")
            self._person_row(person_id, s)
            old = face.person_id
            face.person_id = person_id
            s.flush()
            if s.scalar(select(func.count(PhotoFaceRow.id)).where(PhotoFaceRow.person_id == old)) == 0:
                s.execute(delete(PhotoPersonRow).where(PhotoPersonRow.id == old))
            self.audit.append(s, actor=actor, action="photos.move", outcome="ok", purpose=Purpose.PHOTOS.value,
                              target=person_target(person_id), details={"face": int(face_id), "from": old})
            return _face(face)

    def erase_person(self, person_id: str, *, actor: str) -> dict[str, int]:
        """Remove the person, their faces and templates (rows, index, face crops) and their
        naming basis. Their photos stay (they are the library owner's), without those faces;
        a re-import of the same photos does not bring the faces back (known by content)."""
        actor = require_actor(actor)
        with self.transaction() as s:
            self._person_row(person_id, s)
            ids = list(s.scalars(select(PhotoFaceRow.id).where(PhotoFaceRow.person_id == person_id)))
            s.execute(delete(PhotoFaceRow).where(PhotoFaceRow.person_id == person_id))
            consents = s.execute(delete(PhotoConsentRow).where(PhotoConsentRow.person_id == person_id)).rowcount
            s.execute(delete(PhotoPersonRow).where(PhotoPersonRow.id == person_id))
            self.audit.append(s, actor=actor, action="photos.erase", outcome="ok", purpose=Purpose.PHOTOS.value,
                              target=person_target(person_id), details={"faces": len(ids), "consents": consents})
        if ids:
            with self._index_lock:
                index = self.index()
                index.remove(np.asarray(ids, np.int64))
                index.persist()
            for f in ids:
                self.face_path(f).unlink(missing_ok=True)
        return {"faces": len(ids), "consents": consents}

    # -- search --------------------------------------------------------------------
    def _named(self, s: Session, who: str, now: datetime) -> PhotoPersonRow:
        """A person by id or name who holds a valid `photos` basis: unnamed people are
        anonymous clusters, not someone to search for."""
        row = s.get(PhotoPersonRow, who) or s.scalars(select(PhotoPersonRow).where(PhotoPersonRow.name == who)).first()
        if row is None:
            raise NotFoundError(f"nobody called {who!r} in the photo library")
        if row.name is None:
            raise ConsentRequiredError(f"person {row.id} has no name: name them (with a basis) before searching")
        valid = s.scalar(select(exists().where(and_(
            PhotoConsentRow.person_id == row.id, PhotoConsentRow.purpose == Purpose.PHOTOS.value,
            PhotoConsentRow.withdrawn_at.is_(None),
            or_(PhotoConsentRow.expires_at.is_(None), PhotoConsentRow.expires_at > now)))))
        if not valid:
            raise ConsentRequiredError(f"{row.name!r} holds no valid 'photos' consent or legal basis")
        return row

    def search(self, people: Sequence[str], *, actor: str, since: datetime | None = None,
               until: datetime | None = None) -> list[Photo]:
        """Photos showing every one of `people` (names or ids of named people), taken in
        [since, until) when given (photos without a date are then left out). Audited."""
        actor = require_actor(actor)
        who = [str(p).strip() for p in people if str(p).strip()]
        if not who:
            raise InputError("name at least one person to search for")
        since, until = as_utc(since), as_utc(until)
        if since and until and since >= until:
            raise InputError("since must be before until")
        now = utcnow()
        with self._sessions() as s:
            rows = [self._named(s, w, now) for w in who]
        clause = and_(*(PhotoRow.id.in_(select(PhotoFaceRow.photo_id).where(PhotoFaceRow.person_id == r.id))
                        for r in rows))
        if since:
            clause = and_(clause, PhotoRow.taken_at >= since)
        if until:
            clause = and_(clause, PhotoRow.taken_at < until)
        found = self._photos_where(clause)
        with self.transaction() as s:
            self.audit.append(s, actor=actor, action="photos.search", outcome="ok", purpose=Purpose.PHOTOS.value,
                              target=",".join(person_target(r.id) for r in rows)[:255],
                              details={"people": [r.id for r in rows], "since": since and since.isoformat(),
                                       "until": until and until.isoformat(), "results": len(found)})
        return found

    def close(self) -> None:
        with self._index_lock:
            if self._index is not None:
                self._index.persist()
                self._index.close()
                self._index = None
        self.engine.dispose()

    def __enter__(self) -> PhotoLibrary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _face(r: PhotoFaceRow) -> LibraryFace:
    return LibraryFace(int(r.id), int(r.photo_id), r.person_id, (r.x1, r.y1, r.x2, r.y2), float(r.score))


