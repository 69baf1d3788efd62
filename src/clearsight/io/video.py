"""Video sources: files, RTSP/HTTP streams, webcams and image folders behind one iterator.

Why this shape:
- Every source yields `Frame`s (RGB uint8, frame index, presentation time and wall
  time), so the pipeline never cares where pixels come from.
- PyAV (FFmpeg) is the main decoder: it reads files, RTSP, HTTP/MJPEG and gives real
  presentation timestamps. OpenCV is the fallback (and the webcam path), because
  its capture API hides timestamps but opens devices FFmpeg cannot.
- Live sources must never fall behind: a reader thread keeps decoding at the
  camera's pace and the consumer takes the newest frame (`drop="latest"`), so a
  slow analyser skips frames instead of accumulating minutes of lag. Files are
  read as fast as the consumer wants, unless `realtime=True` asks them to behave
  like a camera (benchmarks of "streams sustained at 25 fps" use that).
- A camera that drops is not an error: the reader reconnects with exponential
  back-off and reports `camera.down` / `camera.up` through `on_status`, which the
  pipeline turns into events. Only a source that never opened (bad path, bad
  URL on first contact when `reconnect=False`) raises.
"""

from __future__ import annotations

import collections
import io
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Generic, Literal, TypeVar

import numpy as np

from ..errors import ClearsightError, InputError

DropPolicy = Literal["latest", "none"]
StatusCallback = Callable[[str, dict[str, Any]], None]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
LIVE_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


class VideoSourceError(InputError):
    """A video source cannot be opened or read (missing file, bad URL, undecodable stream)."""

    code = "video_source_error"


class SourceUnavailableError(VideoSourceError):
    """A live source could not be reached within the allowed reconnect attempts."""

    code = "video_source_unavailable"
    http_status = 503


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded picture.

    `index` counts frames the source produced (dropped ones included), so gaps show
    how many frames the consumer skipped. `pts` is seconds on the source's own clock
    (container timestamps for files, seconds since first connection for live
    sources). `time` is the Unix time the frame shows: capture wall time for live
    sources, start time + pts for files (so events from an archive carry the time
    they happened relative to when it was opened, and are reproducible).
    """

    image: np.ndarray
    index: int
    pts: float
    time: float
    source: str

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass
class SourceStats:
    decoded: int = 0
    delivered: int = 0
    dropped: int = 0
    reconnects: int = 0
    down_since: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- the frame queue
T = TypeVar("T")


class FrameQueue(Generic[T]):
    """The platform's one bounded hand-over between a producer thread and a consumer.

    `drop="latest"`: when full, the oldest item is dropped (and counted) so the
    consumer always gets the newest; a live camera never builds up lag.
    `drop="none"`: the producer waits for room, so nothing is lost (files, tests).
    `close()` wakes everyone; `get()` then drains what is left and returns None.
    """

    def __init__(self, maxsize: int = 1, drop: DropPolicy = "latest") -> None:
        if drop not in ("latest", "none"):
            raise InputError(f"unknown drop policy {drop!r}; choose latest or none")
        self.maxsize = max(1, int(maxsize))
        self.drop = drop
        self._items: collections.deque[T] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> bool:
        """Add `item`; False when the queue was closed (the item is discarded)."""
        with self._cond:
            if self.drop == "none":
                while len(self._items) >= self.maxsize and not self._closed:
                    self._cond.wait(0.1)
            elif len(self._items) >= self.maxsize:
                self._items.popleft()
                self.dropped += 1
            if self._closed:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest waiting item; None once closed and empty, or when `timeout` passes."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items and not self._closed:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(0.2 if left is None else min(0.2, left))
            if not self._items:
                return None
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._items)


# --------------------------------------------------------------------------- readers
class _Reader(ABC):
    """Blocking decoder of one connection: yields (rgb, pts_seconds)."""

    fps: float | None = None

    @abstractmethod
    def read(self) -> Iterator[tuple[np.ndarray, float | None]]: ...

    @abstractmethod
    def close(self) -> None: ...


class _PyAVReader(_Reader):
    """`uri` is a path or URL, or an open binary file (`label` then names it in errors)."""

    def __init__(self, uri: str | BinaryIO, *, timeout_s: float = 5.0, options: dict[str, str] | None = None,
                 label: str | None = None) -> None:
        import av

        opts: dict[str, str] = {}
        if isinstance(uri, str) and uri.startswith(("rtsp://", "rtsps://")):
            opts.update({"rtsp_transport": "tcp", "timeout": str(int(timeout_s * 1e6))})
        elif isinstance(uri, str) and uri.startswith(("http://", "https://", "tcp://")):
            opts.update({"timeout": str(int(timeout_s * 1e6)), "reconnect": "0"})
        opts.update(options or {})
        label = label or repr(uri)
        try:
            self._container = av.open(uri, options=opts, timeout=timeout_s)
        except (av.FFmpegError, OSError) as exc:
            raise VideoSourceError(f"cannot open video {label}: {exc}") from exc
        if not self._container.streams.video:
            self._container.close()
            raise VideoSourceError(f"{label} has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps = float(rate) if rate else None
        self.frames_total = int(self._stream.frames or 0) or None
        self.uri = label

    def read(self) -> Iterator[tuple[np.ndarray, float | None]]:
        import av

        tb = float(self._stream.time_base) if self._stream.time_base else None
        try:
            for frame in self._container.decode(self._stream):
                pts = float(frame.pts * tb) if (frame.pts is not None and tb) else None
                yield frame.to_ndarray(format="rgb24"), pts
        except av.FFmpegError as exc:
            raise VideoSourceError(f"error decoding {self.uri}: {exc}") from exc

    def sample(self, want: Callable[[int], bool]) -> Iterator[tuple[int, float | None, np.ndarray | None]]:
        """Every frame's index and time, with the pixels only where `want(index)`."""
        import av

        tb = float(self._stream.time_base) if self._stream.time_base else None
        try:
            for i, frame in enumerate(self._container.decode(self._stream)):
                pts = float(frame.pts * tb) if (frame.pts is not None and tb) else None
                yield i, pts, (frame.to_ndarray(format="rgb24") if want(i) else None)
        except av.FFmpegError as exc:
            raise VideoSourceError(f"error decoding {self.uri}: {exc}") from exc

    def close(self) -> None:
        try:
            self._container.close()
        except Exception:  # noqa: BLE001 - closing a broken stream must not mask the real error
            pass


class _OpenCVReader(_Reader):
    def __init__(self, uri: str | int) -> None:
        import cv2

        self._cap = cv2.VideoCapture(uri)
        if not self._cap.isOpened():
            raise VideoSourceError(f"cannot open video {uri!r} with OpenCV")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and fps > 0 else None
        n = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frames_total = n if n > 0 else None
        self.uri = uri

    def read(self) -> Iterator[tuple[np.ndarray, float | None]]:
        import cv2

        while True:
            ok, bgr = self._cap.read()
            if not ok:
                return
            msec = self._cap.get(cv2.CAP_PROP_POS_MSEC)
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (msec / 1000.0 if msec and msec > 0 else None)

    def close(self) -> None:
        self._cap.release()


def _open_reader(uri: str | int, backend: str, timeout_s: float) -> _Reader:
    """PyAV first (timestamps, protocols), OpenCV when PyAV cannot open it."""
    if backend not in ("auto", "pyav", "opencv"):
        raise InputError(f"unknown video backend {backend!r}; choose auto, pyav or opencv")
    if isinstance(uri, int) or backend == "opencv":
        return _OpenCVReader(uri)
    try:
        return _PyAVReader(uri, timeout_s=timeout_s)
    except VideoSourceError:
        if backend == "pyav":
            raise
        try:
            return _OpenCVReader(uri)
        except VideoSourceError:
            pass
        raise


# --------------------------------------------------------------------------- sources
class VideoSource(ABC):
    """Iterable of `Frame`s; use as a context manager or call `close()`."""

    name: str
    live: bool = False

    def __init__(self, name: str) -> None:
        self.name = name
        self.stats = SourceStats()
        self.fps: float | None = None
        self.size: tuple[int, int] | None = None  # (width, height) once known

    @abstractmethod
    def frames(self) -> Iterator[Frame]: ...

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sample_file(path: str | Path, want: Callable[[int], bool]) -> Iterator[tuple[int, float | None, np.ndarray | None]]:
    """(index, seconds on the container's clock, RGB pixels or None) for every frame of a file.

    For readers that need every frame's index and time but the pixels of only some frames
    (footage indexing): converting a 720p frame to RGB costs as much as decoding it."""
    p = Path(path)
    reader = _PyAVReader(str(p), label=repr(p.name))
    try:
        yield from reader.sample(want)
    finally:
        reader.close()


class FileSource(VideoSource):
    """A video file. `realtime=True` paces frames by their timestamps and, with
    `drop="latest"`, skips frames the consumer is too slow for, as a camera would."""

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        realtime: bool = False,
        drop: DropPolicy = "latest",
        backend: str = "auto",
        start_time: float | None = None,
        loop: bool = False,
    ) -> None:
        p = Path(path)
        super().__init__(name or p.stem)
        if not p.is_file():
            raise VideoSourceError(f"video file not found: {p}")
        self.path = p
        self.realtime = realtime
        self.drop = drop
        self.backend = backend
        self.loop = loop
        self.start_time = start_time
        reader = _open_reader(str(p), backend, 5.0)
        self.fps = reader.fps
        self.frames_total = getattr(reader, "frames_total", None)
        reader.close()

    def frames(self) -> Iterator[Frame]:
        t0 = self.start_time if self.start_time is not None else time.time()
        wall0 = time.monotonic()
        fps = self.fps or 25.0
        index = 0
        offset = 0.0
        while True:
            reader = _open_reader(str(self.path), self.backend, 5.0)
            last_pts = offset
            try:
                for rgb, pts in reader.read():
                    pts = offset + (pts if pts is not None else index / fps - offset)
                    last_pts = pts
                    self.stats.decoded += 1
                    if self.size is None:
                        self.size = (rgb.shape[1], rgb.shape[0])
                    if self.realtime:
                        lag = (time.monotonic() - wall0) - pts
                        if lag < 0:
                            time.sleep(-lag)
                        elif self.drop == "latest" and lag > 1.0 / fps:
                            self.stats.dropped += 1
                            index += 1
                            continue
                    self.stats.delivered += 1
                    yield Frame(rgb, index, pts, t0 + pts, self.name)
                    index += 1
            finally:
                reader.close()
            if not self.loop or self.stats.decoded == 0:
                return
            offset = last_pts + 1.0 / fps


class MemorySource(VideoSource):
    """A video held in memory (an upload), decoded without touching the disk, so no
    error can name a server path. Frames are timed by the container, like a file's."""

    def __init__(self, data: bytes, *, name: str = "upload", start_time: float | None = None) -> None:
        super().__init__(name)
        self._data = data
        self.start_time = start_time
        reader = self._open()
        self.fps = reader.fps
        self.frames_total = getattr(reader, "frames_total", None)
        reader.close()

    def _open(self) -> _Reader:
        try:
            return _PyAVReader(io.BytesIO(self._data), label=f"the {self.name}")
        except VideoSourceError as exc:
            if "no video stream" in str(exc):
                raise
            raise VideoSourceError(f"cannot open the {self.name} as a video") from None

    def frames(self) -> Iterator[Frame]:
        t0 = self.start_time if self.start_time is not None else time.time()
        fps = self.fps or 25.0
        reader = self._open()
        try:
            for index, (rgb, pts) in enumerate(reader.read()):
                pts = pts if pts is not None else index / fps
                self.stats.decoded += 1
                self.stats.delivered += 1
                if self.size is None:
                    self.size = (rgb.shape[1], rgb.shape[0])
                yield Frame(rgb, index, pts, t0 + pts, self.name)
        finally:
            reader.close()


class ImageFolderSource(VideoSource):
    """A folder of images in natural sort order, played at `fps` (again and again with `loop`)."""

    def __init__(self, folder: str | Path, *, name: str | None = None, fps: float = 10.0, start_time: float | None = None,
                 loop: bool = False) -> None:
        p = Path(folder)
        super().__init__(name or p.name)
        if not p.is_dir():
            raise VideoSourceError(f"image folder not found: {p}")
        self.files = sorted((f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
        if not self.files:
            raise VideoSourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {p}")
        if fps <= 0:
            raise InputError("fps must be positive")
        self.fps = float(fps)
        self.start_time = start_time
        self.loop = loop
        self.frames_total = len(self.files)

    def frames(self) -> Iterator[Frame]:
        from .image import load_image

        t0 = self.start_time if self.start_time is not None else time.time()
        i = 0  # keeps counting across passes: index and time never go back
        while True:
            decoded_before = self.stats.decoded
            for f in self.files:
                try:
                    rgb = load_image(f)
                except ClearsightError:
                    self.stats.dropped += 1  # one unreadable file must not end the sequence
                    i += 1
                    continue
                self.stats.decoded += 1
                self.stats.delivered += 1
                if self.size is None:
                    self.size = (rgb.shape[1], rgb.shape[0])
                yield Frame(rgb, i, i / self.fps, t0 + i / self.fps, self.name)
                i += 1
            if not self.loop or self.stats.decoded == decoded_before:
                return


class LiveSource(VideoSource):
    """A camera or stream: a reader thread decodes continuously; reconnects with back-off.

    The consumer gets the newest frame (`drop="latest"`) or every frame in order
    (`drop="none"`, the reader blocks when `buffer` frames are waiting).
    `max_attempts=None` retries for ever; otherwise, after that many failed
    attempts in a row the iterator ends (and the first-ever connection failing
    raises `SourceUnavailableError`).
    """

    live = True

    def __init__(
        self,
        uri: str | int,
        *,
        name: str | None = None,
        drop: DropPolicy = "latest",
        buffer: int = 64,
        backend: str = "auto",
        timeout_s: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 10.0,
        max_attempts: int | None = None,
        on_status: StatusCallback | None = None,
    ) -> None:
        super().__init__(name or str(uri))
        if drop not in ("latest", "none"):
            raise InputError(f"unknown drop policy {drop!r}; choose latest or none")
        self.uri = uri
        self.drop = drop
        self.backend = backend
        self.timeout_s = timeout_s
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_attempts = max_attempts
        self.on_status = on_status
        self._queue: FrameQueue[Frame] = FrameQueue(1 if drop == "latest" else buffer, drop)
        self._stop = threading.Event()
        self._error: ClearsightError | None = None
        self._thread: threading.Thread | None = None
        self._connected_once = False
        self.is_up = False

    # -- reader thread ---------------------------------------------------------
    def _status(self, kind: str, **info: Any) -> None:
        if self.on_status is not None:
            try:
                self.on_status(kind, {"source": self.name, **info})
            except Exception:  # noqa: BLE001 - a failing listener must not kill the camera
                pass

    def _run(self) -> None:
        index = 0
        failures = 0
        delay = self.backoff_initial
        t_first: float | None = None
        while not self._stop.is_set():
            try:
                reader = _open_reader(self.uri, self.backend, self.timeout_s)
            except VideoSourceError as exc:
                failures += 1
                if not self._connected_once and self.max_attempts is not None and failures >= self.max_attempts:
                    self._finish(SourceUnavailableError(f"camera {self.name!r} unreachable: {exc}"))
                    return
                if self._gave_up(failures):
                    return
                self._mark_down(str(exc))
                self._stop.wait(delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            self.fps = reader.fps or self.fps
            if self.is_up is False:
                self.is_up = True
                if self._connected_once:
                    self.stats.reconnects += 1
                self._status("camera.up", reconnects=self.stats.reconnects,
                             downtime_s=(time.time() - self.stats.down_since) if self.stats.down_since else 0.0)
                self.stats.down_since = None
            self._connected_once = True
            reason = "stream ended"
            try:
                for rgb, _pts in reader.read():
                    now = time.time()
                    if t_first is None:
                        t_first = now
                    failures, delay = 0, self.backoff_initial
                    if self.size is None:
                        self.size = (rgb.shape[1], rgb.shape[0])
                    self.stats.decoded += 1
                    self._push(Frame(rgb, index, now - t_first, now, self.name))
                    index += 1
                    if self._stop.is_set():
                        break
            except VideoSourceError as exc:
                reason = str(exc)
            finally:
                reader.close()
            if self._stop.is_set():
                break
            failures += 1
            if self._gave_up(failures):
                return
            self._mark_down(reason)
            self._stop.wait(delay)
            delay = min(delay * 2, self.backoff_max)
        self._finish(None)

    def _gave_up(self, failures: int) -> bool:
        if self.max_attempts is not None and failures > self.max_attempts:
            self._mark_down("gave up")
            self._finish(None)
            return True
        return False

    def _mark_down(self, reason: str) -> None:
        if self.is_up or self.stats.down_since is None:
            self.is_up = False
            self.stats.down_since = time.time()
            self._status("camera.down", reason=reason)

    def _push(self, frame: Frame) -> None:
        self._queue.put(frame)
        self.stats.dropped = self._queue.dropped

    def _finish(self, error: ClearsightError | None) -> None:
        self._error = error
        self._queue.close()

    # -- consumer -------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"source:{self.name}", daemon=True)
            self._thread.start()

    def frames(self) -> Iterator[Frame]:
        self.start()
        while True:
            frame = self._queue.get()
            if frame is None:  # closed and drained: stopped, ended, or failed for good
                if self._error is not None and not self._stop.is_set():
                    raise self._error
                return
            self.stats.delivered += 1
            yield frame

    def close(self) -> None:
        self._stop.set()
        self._queue.close()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_s + 2)


def _natural_key(p: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def open_source(
    uri: str | int | Path,
    *,
    name: str | None = None,
    realtime: bool | None = None,
    drop: DropPolicy = "latest",
    fps: float | None = None,
    backend: str = "auto",
    loop: bool = False,
    max_attempts: int | None = None,
    on_status: StatusCallback | None = None,
    **live_options: Any,
) -> VideoSource:
    """Pick the source class from the URI: stream URL, `webcam:N` / device index /
    `/dev/videoN`, image folder, or video file."""
    if isinstance(uri, int) or (isinstance(uri, str) and (uri.isdigit() or uri.startswith("webcam:"))):
        spec = str(uri).removeprefix("webcam:")
        if not spec.isdigit():
            raise VideoSourceError(f"bad webcam {uri!r}: use webcam:N with a device number")
        dev = int(spec)
        return LiveSource(dev, name=name or f"webcam{dev}", drop=drop, backend="opencv",
                          max_attempts=max_attempts, on_status=on_status, **live_options)
    s = str(uri)
    if s.startswith(LIVE_SCHEMES) or s.startswith("/dev/video"):
        src = LiveSource(s, name=name, drop=drop, backend=backend if not s.startswith("/dev/") else "opencv",
                         max_attempts=max_attempts, on_status=on_status, **live_options)
        return src
    p = Path(s).expanduser()
    if p.is_dir():
        return ImageFolderSource(p, name=name, fps=fps or 10.0, loop=loop)
    if not p.exists():
        raise VideoSourceError(f"video source not found: {s} (give a file, an image folder, a stream URL or webcam:N)")
    return FileSource(p, name=name, realtime=bool(realtime), drop=drop, backend=backend, loop=loop)


__all__ = [
    "DropPolicy",
    "FileSource",
    "Frame",
    "FrameQueue",
    "ImageFolderSource",
    "LiveSource",
    "MemorySource",
    "SourceStats",
    "SourceUnavailableError",
    "VideoSource",
    "VideoSourceError",
    "open_source",
]
