"""The footage library: index recorded video by face, search it with a probe photo.

Why a collection of its own: footage faces belong to people who never enrolled and
never consented. Their templates sit in `footage_tracks` (never in the gallery's
`templates`) and in a vector index of their own (`<data_dir>/footage-index`), built
with the gallery's machinery (`gallery.index`: FAISS, sealed files, `reconcile`) and
protected the same way (key-transformed vectors, AES-GCM rows and thumbnails under
the template key ring). No gallery search reads either, whatever its purpose; and
this library searches only for `investigation` and `missing_person`, in candidates
mode (a ranked list for a human, never an identification), with a legal basis,
every search audited in the gallery's keyed audit chain.

Store first, index after (as the gallery does): a crash can leave the index behind
the store, never ahead; `reconcile` at open catches up.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ...db import connect, new_id, session_factory, utcnow
from ...db.tables.footage import FootageTrackRow, FootageVideoRow
from ...errors import InputError
from ...gallery.audit import AuditLog, open_chain_key, require_actor
from ...gallery.consent import Purpose, parse_purpose
from ...gallery.errors import NotFoundError
from ...gallery.index.base import VectorIndex, create_index, reconcile
from ...gallery.openset import SearchMode, open_set_point
from ...gallery.policy import check_legal_basis, search_fpir, search_mode
from ...gallery.protection import TemplateKeys
from ...io.video import FileSource, VideoSourceError
from .indexer import FaceTrack, ScanProgress, ScanStopped, TrackScanner
from .records import FootageHit, FootageSearch, FootageSearchRefused, FootageVideo, IndexReport

if TYPE_CHECKING:
    from ...config import Settings
    from ...face.pipeline import FacePipeline

# the purposes a footage search serves: finding someone who did not consent, under a legal basis
FOOTAGE_PURPOSES = frozenset({Purpose.INVESTIGATION, Purpose.MISSING_PERSON})
MAX_TOP_K = 1000


def template_aad(video_id: str, best_frame: int, model: str) -> bytes:
    return f"clearsight/footage/{video_id}/{best_frame}/{model}".encode()


def thumbnail_aad(video_id: str, best_frame: int) -> bytes:
    return f"clearsight/footage-thumbnail/{video_id}/{best_frame}".encode()


def content_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class FootageLibrary:
    def __init__(self, settings: Settings, *, pipeline: FacePipeline | None = None) -> None:
        self.settings = settings
        self.fs = settings.footage
        self._engine = connect(settings.gallery_database_url(), "main",
                               sqlite_synchronous=settings.gallery.sqlite_synchronous)
        self._sessions = session_factory(self._engine)
        self.audit = AuditLog(open_chain_key(self.transaction, settings.audit_key_file()))
        self._keys = TemplateKeys(settings.template_key_file())
        self._pipeline = pipeline
        self._scanner: TrackScanner | None = None
        self._index: VectorIndex | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._model_lock = threading.Lock()  # the embedder keeps per-call state: an index run and a search share it

    @classmethod
    def open(cls, settings: Settings | None = None, *, pipeline: FacePipeline | None = None) -> FootageLibrary:
        if settings is None:
            from ...config import get_settings

            settings = get_settings()
        return cls(settings, pipeline=pipeline)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions() as s, s.begin():
            yield s

    @property
    def pipeline(self) -> FacePipeline:
        if self._pipeline is None:
            from ...face.pipeline import default_pipeline

            self._pipeline = default_pipeline()
        return self._pipeline

    @property
    def model_id(self) -> str:
        return self.pipeline.embedder.model_id

    @property
    def scanner(self) -> TrackScanner:
        if self._scanner is None:
            embedder = self.pipeline.embedder
            if self.fs.threads is not None:  # indexing's own session of the same model, `footage.threads` a call
                from ...face.pipeline import FacePipeline

                embedder = FacePipeline(embedder=self.pipeline.embedder_name, settings=self.settings.face,
                                        threads=self.fs.threads).embedder
            self._scanner = TrackScanner(embedder, self.fs, self.settings.face, model_lock=self._model_lock)
        return self._scanner

    def stop(self) -> None:
        """End a running index run at its next detection frame (it resumes from its last checkpoint)."""
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            if self._index is not None:
                self._index.close()
                self._index = None
        self._engine.dispose()

    def __enter__(self) -> FootageLibrary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the collection --------------------------------------------------------------
    def _ensure_index(self, dim: int | None = None) -> VectorIndex | None:
        """The footage index of the current model and key, reconciled with the store on open."""
        with self._lock:
            if self._keys.follow_file() and self._index is not None:
                self._index.close()
                self._index = None
            if self._index is None:
                model = self.model_id
                if dim is None:
                    with self._sessions() as s:
                        ct = s.execute(select(FootageTrackRow.ciphertext).where(FootageTrackRow.model == model)
                                       .limit(1)).scalar()
                    if ct is None:
                        return None
                    dim = (len(ct) - 16) // 4  # AES-GCM adds a 16-byte tag to the float32 vector
                prot = self._keys.protector
                path = self.settings.footage_index_dir() / f"{re.sub(r'[^A-Za-z0-9_.+-]', '_', model)}.{prot.active}.faiss"
                self._index = create_index("auto", dim, path=path, seal_key=prot.file_key())
                with self._sessions() as s:
                    ids = np.asarray(s.execute(select(FootageTrackRow.id).where(FootageTrackRow.model == model))
                                     .scalars().all(), dtype=np.int64)
                added, removed = reconcile(self._index, ids, self._vectors)
                if added or removed:
                    self._index.persist()
            return self._index

    def _vectors(self, ids: np.ndarray) -> np.ndarray:
        """Stored templates in the active key's domain, in `ids` order."""
        prot, model = self._keys.protector, self.model_id
        pos = {int(t): i for i, t in enumerate(ids)}
        out: np.ndarray | None = None
        with self._sessions() as s:
            rows = s.execute(select(FootageTrackRow.id, FootageTrackRow.video_id, FootageTrackRow.best_frame,
                                    FootageTrackRow.key_id, FootageTrackRow.nonce, FootageTrackRow.ciphertext)
                             .where(FootageTrackRow.id.in_([int(i) for i in ids]))).all()
        for r in rows:
            v = prot.to_active(r.key_id, r.nonce, r.ciphertext, template_aad(r.video_id, r.best_frame, model))
            if out is None:
                out = np.zeros((len(ids), len(v)), np.float32)
            out[pos[int(r.id)]] = v
        return out if out is not None else np.zeros((0, 0), np.float32)

    # -- indexing ----------------------------------------------------------------------
    def index_videos(self, paths: Iterable[str | Path], *, actor: str,
                     on_progress: Callable[[str, ScanProgress], None] | None = None) -> list[IndexReport]:
        """Index each video; one that cannot be read is reported (status `failed`) and the run goes on."""
        return [self.index_video(p, actor=actor, on_progress=on_progress) for p in paths]

    def index_video(self, path: str | Path, *, actor: str,
                    on_progress: Callable[[str, ScanProgress], None] | None = None) -> IndexReport:
        """Index one video (resuming an interrupted run of the same content). Never raises for a bad
        file: the report says what was wrong."""
        actor = require_actor(actor)
        p = Path(path).expanduser()
        started = time.perf_counter()
        if not p.is_file():
            return IndexReport(str(p), "failed", error=f"not a readable file: {p}")
        try:
            source = FileSource(p, realtime=False, drop="none")
        except (VideoSourceError, OSError) as exc:
            return IndexReport(str(p), "failed", error=f"cannot read {p.name} as video: {exc}")
        digest = content_hash(p)
        with self.transaction() as s:
            row = s.execute(select(FootageVideoRow).where(FootageVideoRow.content_hash == digest)).scalar_one_or_none()
            if row is not None and row.status == "done":
                n = self._track_count(s, row.id)
                source.close()
                return IndexReport(str(p), "already_indexed", row.id, n, int(row.frames_done), row.duration_s,
                                   time.perf_counter() - started)
            resumed = row is not None
            if row is None:
                row = FootageVideoRow(id=new_id(), content_hash=digest, path=str(p.resolve()), status="indexing",
                                      fps=source.fps, frames_total=source.frames_total, resume_frame=0, frames_done=0,
                                      created_at=utcnow())
                s.add(row)
            row.status, row.error, row.path = "indexing", None, str(p.resolve())
            video_id = row.id
            start, gone = self._replay_from(s, video_id, int(row.resume_frame))
        self._unindex(gone)
        last: dict = {"pts": 0.0, "frames": start, "size": None}

        def progress(pr: ScanProgress) -> None:
            last["pts"], last["frames"], last["size"] = pr.offset_s, pr.frame, pr.size
            if on_progress is not None:
                on_progress(str(p), pr)

        try:
            for _ in self.scanner.scan(source, start_frame=start, on_progress=progress,
                                       on_tracks=lambda t, r, f: self._commit(video_id, t, r, f),
                                       should_stop=self._stop.is_set):
                pass
        except ScanStopped:
            return IndexReport(str(p), "interrupted", video_id, frames=int(last["frames"]),
                               seconds=time.perf_counter() - started,
                               error="stopped; the next index run of this video resumes from its last checkpoint")
        except VideoSourceError as exc:
            return self._failed(video_id, str(p), f"video {p.name} stopped decoding: {exc}", started)
        finally:
            source.close()
        frames = int(last["frames"])
        if frames == 0:
            return self._failed(video_id, str(p), f"video {p.name} has no frames", started)
        fps = source.fps or 25.0
        duration = max(float(last["pts"]) + 1.0 / fps, frames / fps)
        with self.transaction() as s:
            s.execute(update(FootageVideoRow).where(FootageVideoRow.id == video_id).values(
                status="done", finished_at=utcnow(), duration_s=duration, width=(last["size"] or (None, None))[0],
                height=(last["size"] or (None, None))[1], frames_total=frames))
            n = self._track_count(s, video_id)
            self.audit.append(s, actor=actor, action="footage_index", target=video_id, outcome="indexed",
                              details={"tracks": n, "frames": frames, "resumed": resumed, "model": self.model_id})
        return IndexReport(str(p), "resumed" if resumed else "indexed", video_id, n, frames, duration,
                           time.perf_counter() - started)

    def _failed(self, video_id: str, path: str, message: str, started: float) -> IndexReport:
        with self.transaction() as s:
            s.execute(update(FootageVideoRow).where(FootageVideoRow.id == video_id).values(status="failed",
                                                                                           error=message))
        return IndexReport(path, "failed", video_id, error=message, seconds=time.perf_counter() - started)

    @staticmethod
    def _track_count(s: Session, video_id: str) -> int:
        return int(s.execute(select(func.count(FootageTrackRow.id)).where(FootageTrackRow.video_id == video_id))
                   .scalar() or 0)

    def _replay_from(self, s: Session, video_id: str, resume: int) -> tuple[int, list[int]]:
        """Where an interrupted run restarts: at its checkpoint, moved back to the start of any
        stored track that reaches past it (that track is dropped and found again whole), so a
        resumed run stores each appearance once. Returns (frame, ids of the dropped tracks)."""
        while True:
            earlier = s.execute(select(func.min(FootageTrackRow.start_frame)).where(
                FootageTrackRow.video_id == video_id, FootageTrackRow.end_frame >= resume,
                FootageTrackRow.start_frame < resume)).scalar()
            if earlier is None:
                break
            resume = int(earlier)
        gone = s.execute(select(FootageTrackRow.id).where(FootageTrackRow.video_id == video_id,
                                                          FootageTrackRow.end_frame >= resume)).scalars().all()
        if gone:
            s.execute(delete(FootageTrackRow).where(FootageTrackRow.id.in_(gone)))
        return resume, [int(g) for g in gone]

    def _unindex(self, ids: list[int]) -> None:
        """Drop deleted tracks from the index (after their rows' deletion committed)."""
        if not ids:
            return
        with self._lock:
            idx = self._ensure_index()
            if idx is not None:
                idx.remove(np.asarray(ids, dtype=np.int64))
                idx.persist()

    def _commit(self, video_id: str, tracks: list[FaceTrack], resume: int, frames: int) -> None:
        """Finished tracks and the new resume point, in one transaction; then the index."""
        prot, model = self._keys.protector, self.model_id
        ids: list[int] = []
        vecs: list[np.ndarray] = []
        with self.transaction() as s:
            for t in tracks:
                tv = prot.transform(t.embedding)
                kid, nonce, ct = prot.encrypt(tv, template_aad(video_id, t.best_frame, model))
                row = FootageTrackRow(
                    video_id=video_id, start_s=t.start_s, end_s=t.end_s, start_frame=t.start_frame,
                    end_frame=t.end_frame, best_frame=t.best_frame, best_s=t.best_s, quality=t.quality,
                    detections=t.detections, box=json.dumps(t.box.to_dict()), model=model, key_id=kid, nonce=nonce,
                    ciphertext=ct, thumbnail=prot.encrypt_blob(t.thumbnail_jpeg, thumbnail_aad(video_id, t.best_frame)),
                    created_at=utcnow())
                s.add(row)
                s.flush()
                ids.append(int(row.id))
                vecs.append(tv)
            s.execute(update(FootageVideoRow).where(FootageVideoRow.id == video_id)
                      .values(resume_frame=int(resume), frames_done=int(frames)))
        if ids:
            with self._lock:
                idx = self._ensure_index(int(vecs[0].shape[0]))
                assert idx is not None
                have = set(int(i) for i in idx.ids()) if len(idx) < 1_000_000 else set()
                new = [(i, v) for i, v in zip(ids, vecs) if i not in have]  # reconcile at open may have added them
                if new:
                    idx.add(np.asarray([i for i, _ in new], np.int64), np.stack([v for _, v in new]))
                idx.persist()

    # -- what is indexed ----------------------------------------------------------------
    def videos(self) -> list[FootageVideo]:
        with self._sessions() as s:
            counts = dict(s.execute(select(FootageTrackRow.video_id, func.count(FootageTrackRow.id))
                                    .group_by(FootageTrackRow.video_id)).all())
            rows = s.execute(select(FootageVideoRow).order_by(FootageVideoRow.created_at)).scalars().all()
            return [FootageVideo(r.id, r.path, r.status, r.duration_s, r.fps, r.width, r.height, int(r.frames_done),
                                 int(counts.get(r.id, 0)), r.error) for r in rows]

    def track_count(self) -> int:
        with self._sessions() as s:
            return int(s.execute(select(func.count(FootageTrackRow.id)).where(FootageTrackRow.model == self.model_id))
                       .scalar() or 0)

    def erase_video(self, video_id: str, *, actor: str) -> int:
        """Delete a video's tracks (templates, thumbnails) and its record; audited. Returns tracks deleted."""
        actor = require_actor(actor)
        with self.transaction() as s:
            if s.get(FootageVideoRow, video_id) is None:
                raise NotFoundError(f"no indexed video {video_id!r}")
            ids = s.execute(select(FootageTrackRow.id).where(FootageTrackRow.video_id == video_id)).scalars().all()
            s.execute(delete(FootageTrackRow).where(FootageTrackRow.video_id == video_id))
            s.execute(delete(FootageVideoRow).where(FootageVideoRow.id == video_id))
            self.audit.append(s, actor=actor, action="footage_erase", target=video_id, outcome="erased",
                              details={"tracks": len(ids)})
        self._unindex([int(i) for i in ids])
        return len(ids)

    # -- search ------------------------------------------------------------------------
    def _refuse(self, actor: str, purpose: str | None, message: str) -> FootageSearchRefused:
        with self.transaction() as s:
            self.audit.append(s, actor=actor, action="footage_search", purpose=purpose, outcome="refused",
                              details={"reason": message[:300]})
        return FootageSearchRefused(message)

    def check_request(self, purpose: Purpose | str | None, legal_basis: str | None, actor: str) -> Purpose:
        """The purpose of an allowed footage search; a refusal is audited and raised."""
        actor = require_actor(actor)
        try:
            p = parse_purpose(purpose)
        except InputError as exc:
            raise self._refuse(actor, None, f"footage search refused: {exc}") from None
        if p not in FOOTAGE_PURPOSES:
            raise self._refuse(actor, p.value, f"footage search refused: purpose {p.value!r} cannot search footage; "
                               "footage faces are searchable only for investigation or missing_person")
        try:
            check_legal_basis(p, legal_basis)
        except InputError as exc:
            raise self._refuse(actor, p.value, f"footage search refused: {exc}") from None
        return p

    def search(self, probe: object, *, purpose: Purpose | str | None, legal_basis: str | None, actor: str,
               top_k: int | None = None, fpir: float | None = None) -> FootageSearch:
        """Appearances of the probe's face in indexed footage, best first (candidates mode: for a
        human to review; `above_threshold` marks those past the threshold at the candidates FPIR
        over all indexed tracks). Refused without a footage purpose and a legal basis; audited."""
        actor = require_actor(actor)
        p = self.check_request(purpose, legal_basis, actor)
        mode = search_mode(p, SearchMode.CANDIDATES)
        target = search_fpir(p, mode, self.settings.gallery, fpir if fpir is not None else self.fs.candidates_fpir)
        k = self.fs.top_k if top_k is None else top_k
        if not isinstance(k, int) or not 1 <= k <= MAX_TOP_K:
            raise InputError(f"top_k must be an integer in 1..{MAX_TOP_K}")
        model = self.model_id
        try:
            if isinstance(probe, np.ndarray) and probe.ndim == 1:
                q = np.asarray(probe, np.float32)
            else:
                with self._model_lock:
                    q = self.pipeline.primary_template(probe).embedding.vector.astype(np.float32)
            if not np.all(np.isfinite(q)) or float(np.linalg.norm(q)) == 0.0:
                raise InputError("the probe template is empty or not finite")
        except InputError as exc:
            with self.transaction() as s:
                self.audit.append(s, actor=actor, action="footage_search", purpose=p.value, outcome="rejected",
                                  details={"error": exc.code, "legal_basis": str(legal_basis)[:255]})
            raise
        q = q / float(np.linalg.norm(q))
        with self._lock:
            idx = self._ensure_index(int(q.shape[0]))
            prot = self._keys.protector
            qa = prot.transform(q)
            n = len(idx) if idx is not None else 0
            scores, ids = (idx.search(qa.reshape(1, -1), min(n, max(4 * k, 32)))
                           if idx is not None and n else (np.zeros((1, 0)), np.zeros((1, 0), np.int64)))
        cand = [int(i) for i in ids[0] if i >= 0]
        exact = dict(zip(cand, self._vectors(np.asarray(cand, np.int64)) @ qa)) if cand else {}
        point = open_set_point(model, mode, target, max(n, 1), max_fnir=self.settings.gallery.openset_max_fnir)
        threshold = point.threshold if math.isfinite(point.threshold) else None
        ranked = sorted(exact.items(), key=lambda kv: -kv[1])[:k]
        hits: list[FootageHit] = []
        if ranked:
            with self._sessions() as s:
                rows = {r.id: r for r in s.execute(
                    select(FootageTrackRow.id, FootageTrackRow.video_id, FootageTrackRow.start_s, FootageTrackRow.end_s,
                           FootageTrackRow.best_s, FootageTrackRow.start_frame, FootageTrackRow.end_frame,
                           FootageTrackRow.box, FootageVideoRow.path).join(FootageVideoRow, FootageVideoRow.id == FootageTrackRow.video_id)
                    .where(FootageTrackRow.id.in_([i for i, _ in ranked]))).all()}
            for tid, sim in ranked:
                r = rows.get(tid)
                if r is None:
                    continue  # erased meanwhile
                hits.append(FootageHit(tid, r.video_id, r.path, r.start_s, r.end_s, r.best_s, int(r.start_frame),
                                       int(r.end_frame), float(sim), threshold is not None and float(sim) >= threshold,
                                       json.loads(r.box)))
        result = FootageSearch(p.value, mode.value, tuple(hits), threshold, point.fpir, n, model)
        with self.transaction() as s:
            self.audit.append(s, actor=actor, action="footage_search", purpose=p.value, outcome="candidates",
                              details={"legal_basis": str(legal_basis)[:255], "top_k": k, "candidates": len(hits),
                                       "above_threshold": [h.track_id for h in hits if h.above_threshold],
                                       "n": n, "fpir": point.fpir, "threshold": threshold, "model": model,
                                       "review": "human"})
        return result

    def thumbnail(self, track_id: int, *, actor: str) -> bytes:
        """A track's thumbnail (JPEG), decrypted; handing out a face is audited."""
        actor = require_actor(actor)
        with self.transaction() as s:
            r = s.execute(select(FootageTrackRow.video_id, FootageTrackRow.best_frame, FootageTrackRow.thumbnail)
                          .where(FootageTrackRow.id == int(track_id))).one_or_none()
            if r is None or r.thumbnail is None:
                raise NotFoundError(f"no footage track {track_id!r} with a thumbnail")
            self.audit.append(s, actor=actor, action="footage_thumbnail", target=str(track_id), outcome="exported")
        return self._keys.protector.decrypt_blob(r.thumbnail, thumbnail_aad(r.video_id, r.best_frame))


__all__ = ["FOOTAGE_PURPOSES", "FootageLibrary", "content_hash"]
