"""Cameras as long-running workers inside one process: what the service mounts.

`CameraManager` owns one `CameraPipeline` per camera, each in its own thread
(decoding and the ONNX/MediaPipe runtimes release the GIL, so two or three
cameras share a 2-core machine), all feeding one event router set-up per camera
plus the process-wide SSE broadcaster the console listens to. `mjpeg_frames`
turns a camera's latest output frame into a `multipart/x-mixed-replace` stream,
the live view every browser shows without WebRTC.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ClearsightError, InputError
from ..rules.sinks import default_broadcaster
from .config import CameraConfig, parse_camera
from .pipeline import CameraPipeline, RunSummary


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
    def __init__(self, config: CameraConfig, pipeline_kwargs: dict[str, Any]) -> None:
        self.config = config
        self.pipeline = CameraPipeline(config, extra_sinks=[(default_broadcaster(), "all")], keep_preview=True, **pipeline_kwargs)
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

    def __init__(self, **pipeline_kwargs: Any) -> None:
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
            w = _Worker(cfg, self.pipeline_kwargs)
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

    def statuses(self) -> list[CameraStatus]:
        return [self.status(n) for n in self.names()]

    def pipeline(self, name: str) -> CameraPipeline | None:
        w = self._get(name)
        return w.pipeline if w is not None else None

    def close(self) -> None:
        for n in self.names():
            self.stop(n)


def _jpeg_part(rgb: Any, quality: int) -> bytes:
    from ..io import encode_jpeg

    jpg = encode_jpeg(rgb, quality=quality)
    return b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " + str(len(jpg)).encode() + b"\r\n\r\n" + jpg + b"\r\n"


MJPEG_MEDIA_TYPE = "multipart/x-mixed-replace; boundary=frame"


def mjpeg_frames(pipeline: CameraPipeline, *, fps: float = 10.0, quality: int = 75, max_frames: int | None = None) -> Iterator[bytes]:
    """Multipart JPEG chunks of the pipeline's latest output frame, at most `fps` per second;
    a frame is sent only when a new one exists."""
    last_sent = 0.0
    n = 0
    while max_frames is None or n < max_frames:
        frame, t = pipeline.latest, pipeline.latest_time
        if frame is not None and t != last_sent:
            last_sent = t
            n += 1
            yield _jpeg_part(frame, quality)
        elif not pipeline.running and frame is not None and t == last_sent:
            return
        time.sleep(1.0 / fps)


async def mjpeg_frames_async(pipeline: CameraPipeline, *, fps: float = 10.0, quality: int = 75) -> AsyncIterator[bytes]:
    import asyncio

    last_sent = 0.0
    while True:
        frame, t = pipeline.latest, pipeline.latest_time
        if frame is not None and t != last_sent:
            last_sent = t
            yield await asyncio.to_thread(_jpeg_part, frame, quality)
        await asyncio.sleep(1.0 / fps)


__all__ = ["CameraExistsError", "CameraManager", "CameraNotFoundError", "CameraStatus", "MJPEG_MEDIA_TYPE",
           "mjpeg_frames", "mjpeg_frames_async"]
