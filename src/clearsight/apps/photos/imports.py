"""Photo imports the service runs in the background (`POST /v1/photos/imports`).

One import at a time: an import embeds every face and uses every core, and two at once
would only interleave. Each run's progress lives here, in the service process that runs
it, which is also the only process that writes the library. Closing the queue stops the
running import after the photo in hand: what was imported stays, and the same folder
imported again resumes where it stopped (photos are skipped by content hash).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from ...errors import ClearsightError
from ...db import utcnow
from .library import PhotoLibrary

KEEP_RUNS = 50  # finished runs listed; older ones are forgotten (the audit log keeps every import)


class ImportStopped(Exception):
    """Raised from the progress callback to end a run between two photos."""


@dataclass
class ImportRun:
    id: str
    folder: str
    actor: str
    state: str = "queued"  # queued | running | done | failed | stopped
    done: int = 0
    total: int | None = None
    queued_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    report: dict[str, Any] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "folder": self.folder, "state": self.state, "done": self.done, "total": self.total,
                "queued_at": self.queued_at, "finished_at": self.finished_at, "report": self.report,
                "error": self.error}


class ImportQueue:
    def __init__(self, library: Callable[[], PhotoLibrary]) -> None:
        self._library = library
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clearsight-photos")
        self._runs: OrderedDict[str, ImportRun] = OrderedDict()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def submit(self, folder: Path, *, actor: str) -> ImportRun:
        run = ImportRun(id=uuid.uuid4().hex[:12], folder=str(folder), actor=actor)
        with self._lock:
            self._runs[run.id] = run
            while len(self._runs) > KEEP_RUNS and next(iter(self._runs.values())).state not in ("queued", "running"):
                self._runs.popitem(last=False)
        self._pool.submit(self._run, run)
        return run

    def runs(self) -> list[dict[str, Any]]:
        """Newest first."""
        with self._lock:
            return [r.to_dict() for r in reversed(self._runs.values())]

    def _run(self, run: ImportRun) -> None:
        def progress(done: int, total: int, _path: str) -> None:
            run.done, run.total = done, total
            if self._stop.is_set():
                raise ImportStopped

        if self._stop.is_set():
            run.state, run.finished_at = "stopped", utcnow()
            return
        run.state = "running"
        try:
            report = self._library().import_dir(run.folder, actor=run.actor, progress=progress)
        except ImportStopped:
            run.state = "stopped"
        except ClearsightError as exc:
            run.state, run.error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - a background run reports, the service goes on
            run.state, run.error = "failed", f"{type(exc).__name__}: {exc}"
        else:
            run.state, run.report = "done", report.to_dict()
        run.finished_at = utcnow()

    def close(self) -> None:
        """Stop the running import after its current photo; queued ones do not start."""
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for run in self._runs.values():
                if run.state == "queued":  # cancelled before it started
                    run.state, run.finished_at = "stopped", utcnow()


__all__ = ["ImportQueue", "ImportRun", "ImportStopped"]
