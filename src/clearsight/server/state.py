"""What one running service holds: settings, the key store, the face pipeline and the
gallery, created lazily so the process starts in well under a second and readiness
is reported honestly by /readyz while models load in the background.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

from ..config import Settings
from ..errors import ClearsightError, ModelError
from .auth import KeyStore, RateLimiter
from ..settings import ServerSettings

log = logging.getLogger("clearsight.server")


class GalleryUnavailableError(ModelError):
    code = "gallery_unavailable"
    http_status = 503


class ServiceState:
    def __init__(self, settings: Settings, server: ServerSettings) -> None:
        self.settings = settings
        self.server = server
        self.started = time.time()
        settings.ensure_data_dir()
        self.keys = KeyStore.open(settings)
        self.limiter = RateLimiter()
        self._pipeline: Any = None
        self._gallery: Any = None
        self._init_lock = threading.RLock()
        # dlib's network and MediaPipe's graph keep per-call state: one inference at a
        # time per process (the runtimes use every core for that one call anyway).
        self._inference = threading.Lock()
        self.ready = threading.Event()
        self.warmup_error: str | None = None

    # -- face pipeline ------------------------------------------------------
    @property
    def pipeline(self) -> Any:
        with self._init_lock:
            if self._pipeline is None:
                from ..face.pipeline import FacePipeline

                self._pipeline = FacePipeline(settings=self.settings.face)
            return self._pipeline

    @contextmanager
    def inference(self) -> Iterator[Any]:
        pipe = self.pipeline
        with self._inference:
            yield pipe

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
    def gallery(self) -> Any:
        with self._init_lock:
            if self._gallery is None:
                try:
                    from ..gallery import Gallery
                except ImportError:
                    raise GalleryUnavailableError("the identity gallery is not installed in this build") from None
                # share this service's pipeline: one copy of the models in memory
                self._gallery = Gallery.open(settings=self.settings, pipeline=self.pipeline)
            return self._gallery

    # -- lifecycle ----------------------------------------------------------
    def warm_up(self) -> None:
        """Load models and open the gallery, then mark the service ready."""
        try:
            import numpy as np

            pipe = self.pipeline
            with self._inference:
                pipe.detector.detect(np.zeros((64, 64, 3), np.uint8))
                _ = pipe.embedder
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
            if self._gallery is not None:
                try:
                    self._gallery.close()
                finally:
                    self._gallery = None
        self.keys.close()
