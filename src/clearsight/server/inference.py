"""Face inference in worker processes, behind the one API process.

Why a process pool and not N copies of the whole service (uvicorn/gunicorn workers):
a verify or search spends nearly all its CPU in the detector and the embedder
(`bench/load.py` prints the share), and those runtimes keep per-call state, so one
process runs one inference at a time and the other cores idle. Moving only that
work to N processes scales it with the cores while everything that is *state*
stays in one process, in one place: rate limits and failed-auth limits, single-use
stream tickets, the camera hub (a camera cannot run twice), live DMS / effects /
liveness sessions with their models, the SSE broadcaster, and the gallery's vector
index (an enrolment or an erasure is seen by the next search, with no index to
sync between processes). Key revocation was already read from the database on
every request. N API processes would need all of that in the database plus a
session router and an event fan-out, to win only the request parsing, which is a
few percent of a request.

A worker returns plain frozen dataclasses (faces, templates, quality reports); it
never touches the gallery, the audit log or a key. The hot routes (verify, search)
send it a *task* (`TASKS`) with the uploaded bytes, not pixels: one round trip per
request, whatever the number of photos (a verify's two photos used to queue twice
under load, and the second wait set the tail), and the decoding, the pickling of
megapixel arrays and the face crops leave the API process, which shares the cores
with the workers. The other routes send decoded pixels to `RemotePipeline`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from ..errors import ModelError

if TYPE_CHECKING:
    import numpy as np

    from ..face.pipeline import FacePipeline, FaceTemplate
    from ..io import ImageInput
    from ..settings import FaceSettings, ImageLimits
    from ..types import Face, QualityReport

log = logging.getLogger("clearsight.server")

_worker_pipeline: FacePipeline | None = None  # one per worker process, set by _init_worker


def default_workers() -> int:
    """One inference process per core this process may use (at least one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _init_worker(face_settings_json: str, threads: int) -> None:
    global _worker_pipeline
    # each process gets its share of the cores (N processes x all-cores threads would thrash),
    # unless the operator set the model threads explicitly
    os.environ.setdefault("CLEARSIGHT_THREADS", str(threads))
    from ..face.pipeline import FacePipeline
    from ..settings import FaceSettings

    _limit_threads()
    _worker_pipeline = FacePipeline(settings=FaceSettings.model_validate_json(face_settings_json))
    _load_models(_worker_pipeline)  # before the first task: a worker is warm when it takes work


def _load_models(pipe: FacePipeline) -> None:
    import numpy as np

    pipe.detector.detect(np.zeros((64, 64, 3), np.uint8))
    _ = pipe.embedder


def _limit_threads() -> None:
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - OpenCV is a core dependency
        pass


def _call(method: str, args: tuple, kwargs: dict) -> Any:
    if _worker_pipeline is None:  # pragma: no cover - the initializer always runs first
        raise ModelError("inference worker not initialised")
    return getattr(_worker_pipeline, method)(*args, **kwargs)


def _pid() -> int:
    return os.getpid()


# -- tasks: one request's inference in one call, the same in a worker and in process ----------
def verify_templates(pipe: FacePipeline, images: dict[str, ImageInput], limits: ImageLimits) -> dict[str, FaceTemplate]:
    """The largest face of each named photo (a verify's one or two)."""
    from ..errors import NoFaceError
    from ..io import load_image

    out = {}
    for name, image in images.items():
        try:
            out[name] = pipe.primary_template(load_image(image, limits=limits))
        except NoFaceError:
            raise NoFaceError(f"{name}: no face found in the image") from None
    return out


def search_probe(pipe: FacePipeline, images: dict[str, ImageInput], limits: ImageLimits, *, all_faces: bool,
                 max_faces: int) -> list[tuple[FaceTemplate, str]]:
    """A search's probe faces (the largest, or up to `max_faces`), each with its template and
    the inline crop the response shows; empty when the photo has no face."""
    from ..io import load_image
    from .schemas import face_crop

    rgb = load_image(images["image"], limits=limits)
    faces = pipe.detect(rgb)
    if not faces:
        return []
    if not all_faces:
        faces = [max(faces, key=lambda f: f.box.area)]
    return [(t, face_crop(rgb, t.face)) for t in pipe.templates(rgb, faces[:max_faces])]


TASKS = frozenset({verify_templates, search_probe})


def _run_task(task: Callable[..., Any], images: dict, args: tuple, kwargs: dict) -> Any:
    if _worker_pipeline is None:  # pragma: no cover - the initializer always runs first
        raise ModelError("inference worker not initialised")
    return task(_worker_pipeline, images, *args, **kwargs)


class InferenceWorkersDown(ModelError):
    code = "inference_unavailable"
    http_status = 503


class InferencePool:
    """N worker processes, each with its own face pipeline; calls block the calling
    thread (a route's threadpool thread) until a worker answers."""

    # the pipeline methods a worker serves: pixels in, picklable dataclasses out
    METHODS = frozenset({"detect", "quality", "templates", "primary_template"})

    def __init__(self, workers: int, face_settings: FaceSettings) -> None:
        self.workers = workers
        self.threads = max(1, default_workers() // workers)  # model threads per worker
        self._face_settings = face_settings
        self._settings_json = face_settings.model_dump_json()
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn, not fork: the API process has threads (the server, warm-up, cameras)
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker, initargs=(self._settings_json, self.threads),
                )
            return self._pool

    def submit(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if method not in self.METHODS:
            raise AttributeError(method)
        return self._result(_call, method, args, kwargs)

    def run(self, task: Callable[..., Any], images: dict[str, ImageInput], *args: Any, **kwargs: Any) -> Any:
        """One of `TASKS` in a worker, on the images as uploaded (the worker decodes them)."""
        if task not in TASKS:
            raise AttributeError(getattr(task, "__name__", task))
        return self._result(_run_task, task, images, args, kwargs)

    def _result(self, fn: Callable[..., Any], *call: Any) -> Any:
        try:
            return self._executor().submit(fn, *call).result()
        except BrokenProcessPool:
            # a worker died (killed, out of memory): start a fresh pool for the next call
            with self._lock:
                pool, self._pool = self._pool, None
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            raise InferenceWorkersDown("an inference worker stopped; retry the request") from None

    def warm_up(self) -> list[int]:
        """Start every worker (each loads its models before taking a task: N tasks
        submitted at once start N processes); the worker process ids."""
        pool = self._executor()
        futures = [pool.submit(_pid) for _ in range(self.workers)]
        return sorted({f.result() for f in futures})

    def pipeline(self) -> RemotePipeline:
        return RemotePipeline(self.submit, self._face_settings)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class RemotePipeline:
    """The part of `FacePipeline` the stateless routes use, run in a worker process."""

    def __init__(self, submit: Callable[..., Any], settings: FaceSettings) -> None:
        self._submit = submit
        self.settings = settings

    def detect(self, image: np.ndarray, *, mesh: bool = False) -> list[Face]:
        return self._submit("detect", image, mesh=mesh)

    def quality(self, image: np.ndarray, face: Face) -> QualityReport:
        return self._submit("quality", image, face)

    def templates(self, image: np.ndarray, faces: list[Face] | None = None) -> list[FaceTemplate]:
        return self._submit("templates", image, faces)

    def primary_template(self, image: np.ndarray) -> FaceTemplate:
        return self._submit("primary_template", image)
