"""Everything one running service holds, in one typed object routes receive with
`Depends(get_state)`: settings, the key store, rate limiters, stream tickets, the face
pipeline and the gallery, the camera hub, the live-session pools and the app's event
broadcaster. Nothing app-scoped lives anywhere else (no module globals, no side
attributes on `app.state`), so two apps in one process never share state.

Models and the gallery are created lazily, so the process starts in well under a
second and readiness is reported honestly by /readyz while models load in the
background.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from collections.abc import Callable
from typing import TYPE_CHECKING, Iterator, TypeVar

from ..config import Settings
from ..errors import ClearsightError, ModelError
from ..rules.sinks import SSEBroadcaster
from ..settings import ServerSettings
from ..db import upgrade_data_dir
from .auth import KeyStore, RateLimiter, StreamTickets
from .inference import InferencePool
from .sessions import SessionPool

if TYPE_CHECKING:  # imported where first used: the service starts before models, video or cameras load
    from ..apps.dms.live import LiveSession
    from ..apps.effects.pipeline import Effects
    from ..apps.facepay import FacePay
    from ..apps.footage import FootageLibrary
    from ..apps.kyc.store import KycStore
    from ..apps.photos import PhotoLibrary
    from ..apps.photos.imports import ImportQueue
    from ..apps.plates.store import PlateStore
    from ..face.document import DocumentReader
    from ..face.liveness import PassiveLiveness
    from ..face.liveness_session import LivenessSession
    from ..face.pipeline import FacePipeline
    from ..gallery import Gallery
    from ..io import ImageInput
    from ..stream.hub import CameraHub
    from .inference import RemotePipeline

log = logging.getLogger("clearsight.server")
T = TypeVar("T")

# Live sessions hold models (a face-mesh graph each): few, and closed when idle.
DMS_SESSIONS = 16
DMS_SESSIONS_PER_KEY = 4
EFFECTS_SESSIONS = 8
LIVENESS_SESSIONS = 16
LIVENESS_SESSIONS_PER_KEY = 4
SESSION_IDLE_S = 120.0


class GalleryUnavailableError(ModelError):
    code = "gallery_unavailable"
    http_status = 503


class EffectsSession:
    """An effects pipeline kept between a stream's frames, and the choice it was built for."""

    def __init__(self, effects: Effects, signature: str) -> None:
        self.effects = effects
        self.signature = signature

    def close(self) -> None:
        self.effects.close()


class ServiceState:
    def __init__(self, settings: Settings, server: ServerSettings) -> None:
        from ..apps.dms.live import DmsSessionLimit, DmsSessionNotFound

        self.settings = settings
        self.server = server
        self.started = time.time()
        settings.ensure_data_dir()
        upgrade_data_dir(settings)  # a data dir of an older layout is migrated before any store opens
        self.keys = KeyStore.open(settings)
        self.limiter = RateLimiter()
        self.auth_failures = RateLimiter("failed authentications")  # per client address
        self.tickets = StreamTickets()
        self.broadcaster = SSEBroadcaster()  # this app's live events, not the process's
        self.dms_sessions: SessionPool[LiveSession] = SessionPool(
            close=lambda s: s.close(), max_total=DMS_SESSIONS, max_per_owner=DMS_SESSIONS_PER_KEY, idle_s=SESSION_IDLE_S,
            not_found=DmsSessionNotFound, limit=DmsSessionLimit, noun="monitoring session",
        )
        self.effects_sessions: SessionPool[EffectsSession] = SessionPool(
            close=lambda s: s.close(), max_total=EFFECTS_SESSIONS, idle_s=SESSION_IDLE_S, evict_oldest=True,
            noun="effects session",
        )
        from ..face.liveness_session import LivenessSessionLimit, LivenessSessionNotFound

        # a challenge lives at most its ttl (90 s by default); idle ones go sooner
        self.liveness_sessions: SessionPool[LivenessSession] = SessionPool(
            close=lambda s: s.close(), max_total=LIVENESS_SESSIONS, max_per_owner=LIVENESS_SESSIONS_PER_KEY,
            idle_s=SESSION_IDLE_S, not_found=LivenessSessionNotFound, limit=LivenessSessionLimit,
            noun="liveness session",
        )
        self._passive: PassiveLiveness | None = None
        self._pipeline: FacePipeline | None = None
        self._gallery: Gallery | None = None
        self._cameras: CameraHub | None = None
        self._plates: PlateStore | None = None
        self._facepay: FacePay | None = None
        self._photos: PhotoLibrary | None = None
        self._photo_imports: ImportQueue | None = None
        self._kyc: KycStore | None = None
        self._documents: DocumentReader | None = None
        self.plate_inference = threading.Lock()  # one plate read at a time: the readers use every core
        self._footage: FootageLibrary | None = None
        self.footage_jobs: ThreadPoolExecutor | None = None  # one index run at a time: it uses every core
        self._init_lock = threading.RLock()
        # dlib's network and MediaPipe's graph keep per-call state: one inference at a
        # time per process (the runtimes use every core for that one call anyway).
        self._inference = threading.Lock()
        # stateless inference (detect, embed, verify, search's templates) in worker processes
        # when there is more than one: see server/inference.py for why a pool and not N services
        self.inference_pool = InferencePool(server.workers, settings.face) if server.workers > 1 else None
        self.ready = threading.Event()
        self.warmup_error: str | None = None

    # -- face pipeline ------------------------------------------------------
    @property
    def pipeline(self) -> FacePipeline:
        with self._init_lock:
            if self._pipeline is None:
                from ..face.pipeline import FacePipeline

                self._pipeline = FacePipeline(settings=self.settings.face)
            return self._pipeline

    @property
    def passive_liveness(self) -> PassiveLiveness:
        """The passive liveness models (two small networks and the trained cues), shared by all sessions."""
        with self._init_lock:
            if self._passive is None:
                from ..face.liveness import PassiveLiveness

                self._passive = PassiveLiveness()
            return self._passive

    @contextmanager
    def inference(self) -> Iterator[FacePipeline]:
        pipe = self.pipeline
        with self._inference:
            yield pipe

    @contextmanager
    def compute(self) -> Iterator[FacePipeline | RemotePipeline]:
        """A pipeline for stateless inference: a worker process's when there is a pool
        (no lock: the pool bounds the concurrency), else this process's under its lock."""
        if self.inference_pool is not None:
            yield self.inference_pool.pipeline()
            return
        with self.inference() as pipe:
            yield pipe

    def run_inference(self, task: Callable[..., T], images: dict[str, ImageInput], *args: object,
                      **kwargs: object) -> T:
        """One request's inference (`inference.TASKS`): in a worker, which decodes the uploaded
        bytes itself, or here, decoded before the lock so other requests' inference overlaps."""
        if self.inference_pool is not None:
            return self.inference_pool.run(task, images, *args, **kwargs)
        from ..io import load_image

        rgb = {name: load_image(image, limits=self.settings.images) for name, image in images.items()}
        with self.inference() as pipe:
            return task(pipe, rgb, *args, **kwargs)

    # -- gallery ------------------------------------------------------------
    @property
    def gallery_available(self) -> bool:
        try:
            from ..gallery import Gallery  # noqa: F401
        except ImportError:
            return False
        return True

    @property
    def gallery_opened(self) -> bool:
        return self._gallery is not None

    @property
    def gallery(self) -> Gallery:
        with self._init_lock:
            if self._gallery is None:
                try:
                    from ..gallery import Gallery
                except ImportError:
                    raise GalleryUnavailableError("the identity gallery is not installed in this build") from None
                # share this service's pipeline: one copy of the models in memory
                self._gallery = Gallery.open(settings=self.settings, pipeline=self.pipeline)
            return self._gallery

    def _open_gallery(self) -> Gallery:
        return self.gallery

    # -- licence plates -----------------------------------------------------
    @property
    def plates(self) -> PlateStore:
        """The plate store (reads, hot-lists, retention), opened on first use."""
        with self._init_lock:
            if self._plates is None:
                from ..apps.plates.store import PlateStore

                self._plates = PlateStore.open(self.settings)
            return self._plates

    # -- face-pay -----------------------------------------------------------
    @property
    def facepay(self) -> FacePay:
        """Face-pay (riders, gates, ledger), opened on first use; its gate decisions share
        this service's pipeline, gallery, liveness models and inference lock."""
        with self._init_lock:
            if self._facepay is None:
                from ..apps.facepay import FacePay, GateDecider

                fs = self.settings.facepay
                decider = GateDecider(self.gallery, fs, pipeline=self.pipeline,
                                      liveness=lambda: self.passive_liveness, inference=lambda: self._inference)
                self._facepay = FacePay.open(self.settings, gallery=self.gallery, decider=decider)
            return self._facepay
    # -- footage search -----------------------------------------------------
    @property
    def footage(self) -> FootageLibrary:
        """The footage library (indexed videos, face tracks), opened on first use."""
        with self._init_lock:
            if self._footage is None:
                from ..apps.footage import FootageLibrary
                from ..face.pipeline import FacePipeline

                # its own models: an index run embeds for minutes, and must not hold this service's inference lock
                self._footage = FootageLibrary.open(self.settings, pipeline=FacePipeline(settings=self.settings.face))
                self.footage_jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clearsight-footage")
            return self._footage
    # -- photo library ------------------------------------------------------
    @property
    def photos(self) -> PhotoLibrary:
        """The photo library (people, naming, search), opened on first use."""
        with self._init_lock:
            if self._photos is None:
                from ..apps.photos import PhotoLibrary

                # its own models (the library builds them: one-thread calls for its import workers), like
                # footage: an import embeds for minutes in the background and must neither hold this
                # service's inference lock nor share a detector with requests
                self._photos = PhotoLibrary.open(self.settings)
            return self._photos

    @property
    def photo_imports(self) -> ImportQueue:
        """Background imports of folders under the media roots (one at a time), made on first use."""
        with self._init_lock:
            if self._photo_imports is None:
                from ..apps.photos.imports import ImportQueue

                self._photo_imports = ImportQueue(lambda: self.photos)
            return self._photo_imports

    # -- KYC and log-in -----------------------------------------------------
    @property
    def kyc(self) -> KycStore:
        """KYC sessions and log-in lock-outs (main database), opened on first use."""
        with self._init_lock:
            if self._kyc is None:
                from ..apps.kyc.store import KycStore

                self._kyc = KycStore.open(self.settings)
            return self._kyc

    @property
    def document_reader(self) -> DocumentReader:
        """ID documents: page, portrait, PP-OCR text (loaded on first use), on this service's pipeline."""
        with self._init_lock:
            if self._documents is None:
                from ..face.document import DocumentReader

                self._documents = DocumentReader(self.pipeline)
            return self._documents

    # -- cameras ------------------------------------------------------------
    @property
    def cameras(self) -> CameraHub:
        """The camera hub, created on first use (the app's start-up creates it and
        restores the saved cameras)."""
        with self._init_lock:
            if self._cameras is None:
                from ..apps.compose import build_pipeline
                from ..rules.sinks import EventStore
                from ..rules.store import RuleStore
                from ..stream.hub import CameraHub
                from ..stream.store import CameraStore

                data_dir = self.settings.data_dir
                self._cameras = CameraHub(
                    cameras=CameraStore.open(self.settings),
                    rules=RuleStore.open(self.settings),
                    events=EventStore(self.settings.events_database_url(),
                                      keep_snapshots=self.settings.events.keep_snapshots),
                    broadcaster=self.broadcaster,
                    output_dir=data_dir / "cameras" / "output",
                    gallery=self._open_gallery if self.gallery_available else None,
                    pipeline_factory=build_pipeline,
                    access=self.server.remote,
                    media_roots=self.settings.media_roots(self.server.remote),
                )
            return self._cameras

    @property
    def cameras_open(self) -> bool:
        return self._cameras is not None

    def start_cameras(self) -> None:
        """Cameras saved by an earlier run come back; those that were running start."""
        self.cameras.restore()

    # -- lifecycle ----------------------------------------------------------
    def warm_up(self) -> None:
        """Load models and open the gallery, then mark the service ready."""
        try:
            import numpy as np

            pipe = self.pipeline
            with self._inference:
                pipe.detector.detect(np.zeros((64, 64, 3), np.uint8))
                _ = pipe.embedder
            if self.inference_pool is not None:
                pids = self.inference_pool.warm_up()
                log.info("%d inference workers ready (pids %s)", len(pids), ", ".join(map(str, pids)))
            if self.gallery_available:
                _ = self.gallery
            self.ready.set()
        except ClearsightError as exc:
            self.warmup_error = f"{exc.code}: {exc}"
            log.error("warm-up failed: %s", self.warmup_error)
        except Exception as exc:  # noqa: BLE001 - report, keep serving the rest
            self.warmup_error = f"{type(exc).__name__}"
            log.exception("warm-up failed")

    def start_warmup(self) -> threading.Thread:
        t = threading.Thread(target=self.warm_up, name="clearsight-warmup", daemon=True)
        t.start()
        return t

    def close(self) -> None:
        with self._init_lock:
            hub, self._cameras = self._cameras, None
        if hub is not None:
            hub.close()
        self.dms_sessions.close()
        self.effects_sessions.close()
        self.liveness_sessions.close()
        with self._init_lock:
            footage, self._footage = self._footage, None
            jobs, self.footage_jobs = self.footage_jobs, None
        if footage is not None:
            footage.stop()  # a running index run commits its checkpoint and ends; the next run resumes it
        if jobs is not None:
            jobs.shutdown(wait=True, cancel_futures=True)
        if footage is not None:
            footage.close()
        if self.inference_pool is not None:
            self.inference_pool.close()
        with self._init_lock:
            plates, self._plates = self._plates, None
            facepay, self._facepay = self._facepay, None
        if plates is not None:
            plates.close()
        if facepay is not None:
            facepay.close()
        with self._init_lock:
            imports, self._photo_imports = self._photo_imports, None
            photos, self._photos = self._photos, None
        if imports is not None:
            imports.close()  # the running import stops after its photo; the next import resumes it
        if photos is not None:
            photos.close()
        with self._init_lock:
            kyc, self._kyc = self._kyc, None
        if kyc is not None:
            kyc.close()
        with self._init_lock:
            if self._gallery is not None:
                try:
                    self._gallery.close()
                finally:
                    self._gallery = None
        self.keys.close()
