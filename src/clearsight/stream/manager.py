"""Cameras as long-running workers inside one process: what the service mounts.

`CameraManager` owns one `CameraPipeline` per camera, each in its own thread
(decoding and the ONNX/MediaPipe runtimes release the GIL, so two or three
cameras share a 2-core machine), all feeding one event router set-up per camera
plus the manager's SSE broadcaster (the service passes its own, one per app).
`MjpegFeed` turns a camera's latest output frame into a `multipart/x-mixed-replace`
stream, the live view every browser shows without WebRTC.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ClearsightError, InputError
from ..rules.sinks import EventRouter, SSEBroadcaster
from .config import CameraConfig, parse_camera
from .pipeline import CameraPipeline, RunSummary


PipelineFactory = Callable[..., CameraPipeline]  # (config, **CameraPipeline keywords) -> pipeline

class CameraNotFoundError(InputError):
    code = "camera_not_found"
    http_status = 404


class CameraExistsError(InputError):
    code = "camera_exists"
    http_status = 409


@dataclass
class CameraStatus:
    name: str
    running: bool
    frames: int
    fps: float
    tracks: int
    events: dict[str, int]
    error: str | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Worker:
    def __init__(self, config: CameraConfig, broadcaster: SSEBroadcaster, factory: PipelineFactory,
                 pipeline_kwargs: dict[str, Any]) -> None:
        self.config = config
        # every event reaches the broadcaster once: through the camera's own `sse` sink, or added here
        router = EventRouter.from_config(config.rules, config.sinks, broadcaster)
        extra = [] if any(s.type == "sse" for s in config.sinks) else [(broadcaster, "all")]
        self.pipeline = factory(config, router=router, extra_sinks=extra, keep_preview=True, **pipeline_kwargs)
        self.thread = threading.Thread(target=self._run, name=f"camera:{config.name}", daemon=True)
        self.error: str | None = None
        self.summary: RunSummary | None = None
        self.started = time.monotonic()

    def _run(self) -> None:
        try:
            self.summary = self.pipeline.run()
        except ClearsightError as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a camera thread must report, not vanish
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.pipeline.close()

    def status(self) -> CameraStatus:
        s = self.pipeline.summary
        elapsed = max(1e-6, time.monotonic() - self.started)
        return CameraStatus(self.config.name, self.thread.is_alive(), s.frames, round(s.frames / elapsed, 2), s.tracks,
                            dict(s.events), self.error or s.error, str(self.config.source))


class CameraManager:
    """Create / list / update / delete cameras; start and stop their pipelines."""

    def __init__(self, broadcaster: SSEBroadcaster | None = None, *, pipeline_factory: PipelineFactory = CameraPipeline,
                 **pipeline_kwargs: Any) -> None:
        """`pipeline_factory` builds each camera's pipeline: the composition root
        (`clearsight.apps.compose.build_pipeline`) makes every plug-in available; `stream`
        itself knows no app."""
        self.broadcaster = broadcaster if broadcaster is not None else SSEBroadcaster()
        self.pipeline_factory = pipeline_factory
        self._workers: dict[str, _Worker] = {}
        self._configs: dict[str, CameraConfig] = {}
        self._lock = threading.Lock()
        self.pipeline_kwargs = pipeline_kwargs

    def add(self, config: CameraConfig | dict[str, Any], *, start: bool = True) -> CameraStatus:
        cfg = config if isinstance(config, CameraConfig) else parse_camera(config)
        with self._lock:
            if cfg.name in self._configs:
                raise CameraExistsError(f"camera {cfg.name!r} already exists")
            self._configs[cfg.name] = cfg
        if start:
            self.start(cfg.name)
        return self.status(cfg.name)

    def update(self, config: CameraConfig | dict[str, Any]) -> CameraStatus:
        cfg = config if isinstance(config, CameraConfig) else parse_camera(config)
        was_running = self._get(cfg.name) is not None and self.status(cfg.name).running
        self.stop(cfg.name)
        with self._lock:
            self._configs[cfg.name] = cfg
        if was_running:
            self.start(cfg.name)
        return self.status(cfg.name)

    def remove(self, name: str) -> None:
        self.stop(name)
        with self._lock:
            self._configs.pop(name, None)
            self._workers.pop(name, None)

    def config(self, name: str) -> CameraConfig:
        try:
            return self._configs[name]
        except KeyError:
            raise CameraNotFoundError(f"no camera named {name!r}") from None

    def start(self, name: str) -> None:
        cfg = self.config(name)
        with self._lock:
            w = self._workers.get(name)
            if w is not None and w.thread.is_alive():
                return
            w = _Worker(cfg, self.broadcaster, self.pipeline_factory, self.pipeline_kwargs)
            self._workers[name] = w
        w.thread.start()

    def stop(self, name: str, timeout: float = 15.0) -> None:
        self.config(name)
        w = self._get(name)
        if w is not None:
            w.pipeline.stop()
            w.thread.join(timeout)

    def _get(self, name: str) -> _Worker | None:
        return self._workers.get(name)

    def names(self) -> list[str]:
        return sorted(self._configs)

    def status(self, name: str) -> CameraStatus:
        cfg = self.config(name)
        w = self._get(name)
        if w is None:
            return CameraStatus(name, False, 0, 0.0, 0, {}, None, str(cfg.source))
        return w.status()

    def pipeline(self, name: str) -> CameraPipeline | None:
        w = self._get(name)
        return w.pipeline if w is not None else None

    def close(self) -> None:
        for n in self.names():
            self.stop(n)


MJPEG_MEDIA_TYPE = "multipart/x-mixed-replace; boundary=frame"


def _jpeg_part(rgb: np.ndarray, quality: int) -> bytes:
    from ..io import encode_jpeg

    jpg = encode_jpeg(rgb, quality=quality)
    return b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " + str(len(jpg)).encode() + b"\r\n\r\n" + jpg + b"\r\n"


_WAIT = object()  # nothing new yet


class MjpegFeed:
    """One viewer of a camera's annotated output as multipart JPEG parts: a part only
    when a new frame exists, at most `fps` a second; the feed ends when the camera
    stopped after its last frame was sent, or after `max_frames` parts. (Who may keep
    watching is the front end's business: the service wraps the feed in its key check.)

    The one MJPEG implementation of the platform: threads iterate it (`for part in
    feed`), the service's event loop too (`async for part in feed`); only the
    waiting differs, every decision is `_step`'s.
    """

    def __init__(self, pipeline: CameraPipeline, *, fps: float = 10.0, quality: int = 75, max_frames: int | None = None) -> None:
        self.pipeline = pipeline
        self.period = 1.0 / fps
        self.quality = quality
        self.max_frames = max_frames
        self.sent = 0
        self._last_time = 0.0

    def _step(self) -> bytes | object | None:
        """A part, `_WAIT`, or None when the feed is over."""
        if self.max_frames is not None and self.sent >= self.max_frames:
            return None
        frame, t = self.pipeline.latest, self.pipeline.latest_time
        if frame is not None and t != self._last_time:
            self._last_time = t
            self.sent += 1
            return _jpeg_part(frame, self.quality)
        if not self.pipeline.running and frame is not None:
            return None
        return _WAIT

    def __iter__(self) -> Iterator[bytes]:
        while (part := self._step()) is not None:
            if isinstance(part, bytes):
                yield part
            time.sleep(self.period)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (part := await asyncio.to_thread(self._step)) is not None:  # JPEG encoding off the loop
            if isinstance(part, bytes):
                yield part
            await asyncio.sleep(self.period)


def mjpeg_frames(pipeline: CameraPipeline, *, fps: float = 10.0, quality: int = 75, max_frames: int | None = None) -> Iterator[bytes]:
    """Multipart JPEG chunks of the pipeline's latest output frame (see `MjpegFeed`)."""
    return iter(MjpegFeed(pipeline, fps=fps, quality=quality, max_frames=max_frames))


__all__ = ["CameraExistsError", "CameraManager", "CameraNotFoundError", "CameraStatus", "MJPEG_MEDIA_TYPE", "MjpegFeed",
           "mjpeg_frames"]
