"""Face tracks of one video: detect every N-th frame, track, keep each track's best shot.

Why tracks and not frames: a person walking through a scene is one appearance, seen
in dozens of frames. Searching frames would return the same appearance dozens of
times and store dozens of templates of it; a track stores one, from its best frame.
The best frame is the one with the highest face-quality score (size, sharpness,
brightness, pose: `vision.quality`), so a blurred or turned face does not stand for
the whole appearance; the track's template is the mean of its few best shots
(`footage.best_shots`), steadier than any one of them. Only a shot that enters the
best few is aligned, and they are embedded once, when the track ends, which keeps
indexing cheap.

The scan is resumable: `scan(start_frame=R)` skips frames before R without detecting
in them, and `checkpoint` reports a frame from which a later run can replay so that
every track still open at that moment is found again whole.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ...config import get_settings
from ...io import encode_jpeg
from ...io.video import FileSource, sample_file
from ...settings import FaceSettings, FootageSettings
from ...stream.config import TrackConfig
from ...stream.detectors import Observation, StageDetector, create_stage_detector, detector_options_model
from ...stream.tracking import Tracker
from ...types import BBox, Face
from ...vision.face_embedding import FaceEmbedder
from ...vision.quality import assess_quality


# CenterFace (stride 4) finds faces down to about this width on the image it is given: the
# detection size is chosen so that `footage.detect_face_px` maps to it (see `detect_side`).
DETECTOR_SMALLEST_FACE_PX = 20
ASSOCIATION_GROWTH = 3.0  # boxes the tracker compares are this many times the face box (see `scan`)


@dataclass(frozen=True)
class FaceTrack:
    """One appearance of a face in a video, with the template of its best shot."""

    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    best_frame: int
    best_s: float
    quality: float
    detections: int
    box: BBox  # the best shot's face box in the full frame
    embedding: np.ndarray  # unit vector of the embedder's model
    thumbnail_jpeg: bytes


class ScanStopped(Exception):
    """The caller asked the scan to stop; what was checkpointed stays, the rest is found again on resume."""


@dataclass(frozen=True)
class ScanProgress:
    frame: int  # frames read so far (the next frame's index)
    frames_total: int | None
    offset_s: float
    tracks: int  # tracks finished so far in this run
    size: tuple[int, int] | None = None  # (width, height) of the frames


@dataclass
class _Open:
    """A track being followed: its extent and its best shot so far."""

    start_frame: int
    start_s: float
    end_frame: int = 0
    end_s: float = 0.0
    detections: int = 0
    best_q: float = -math.inf
    best_frame: int = 0
    best_s: float = 0.0
    best_box: BBox | None = None
    chip: np.ndarray | None = None
    thumb: np.ndarray | None = None
    shots: list[tuple[float, np.ndarray]] | None = None  # the best few (quality, aligned chip), for the template


def _thumbnail(rgb: np.ndarray, box: BBox, px: int) -> np.ndarray:
    import cv2

    b = box.scaled(1.4).clip(rgb.shape[1], rgb.shape[0])
    crop = rgb[int(b.y1): max(int(b.y2), int(b.y1) + 1), int(b.x1): max(int(b.x2), int(b.x1) + 1)]
    s = px / max(crop.shape[:2])
    if s < 1:
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s))),
                          interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(crop)


_END = object()


def _prefetched(items: Iterator, depth: int) -> Iterator:
    """`items`, produced by a thread `depth` ahead of the consumer.

    Decoding (PyAV) and detection (onnxruntime) both release the GIL: reading the next
    frames while the detector works on this one keeps the second core busy, where a plain
    loop leaves one core idle during each. Errors of the producer are raised here, in order;
    closing this generator stops the producer."""
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            q.put((_END, exc))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None and stop.is_set():
                close()
        q.put((_END, None))

    worker = threading.Thread(target=produce, name="footage-decode", daemon=True)
    worker.start()
    try:
        while True:
            item, exc = q.get()
            if item is _END:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


class TrackScanner:
    """Runs detector + tracker + best-shot selection over one video file."""

    def __init__(self, embedder: FaceEmbedder, settings: FootageSettings | None = None,
                 face_settings: FaceSettings | None = None, detector: StageDetector | None = None,
                 model_lock: threading.Lock | None = None) -> None:
        """`model_lock`: held around each call into the embedder, which others (a search) share."""
        s = get_settings()
        self.model_lock = model_lock or threading.Lock()
        self.fs = settings or s.footage
        self.face_settings = face_settings or s.face
        self.embedder = embedder
        self._given = detector
        self._detectors: dict[int, StageDetector] = {}
        self.detector = detector or self.detector_for((1280, 720))  # the usual one, for callers warming it up

    def detect_side(self, size: tuple[int, int]) -> int:
        """The longest side frames of this (width, height) are detected at: small enough to be
        cheap, large enough that a `detect_face_px` face is still `DETECTOR_SMALLEST_FACE_PX` wide.
        A fixed size would lose small faces in large frames or waste time on small ones."""
        long = max(size)
        need = math.ceil(long * DETECTOR_SMALLEST_FACE_PX / max(self.fs.detect_face_px, 1e-6))
        return int(min(long, max(self.fs.max_side, need)))

    def detector_for(self, size: tuple[int, int]) -> StageDetector:
        if self._given is not None:
            return self._given
        side = self.detect_side(size)
        det = self._detectors.get(side)
        if det is None:  # the ONNX session is shared (cached by model); a wrapper per size is cheap
            det = self._detectors[side] = create_stage_detector(self.fs.detector, min_score=self.fs.min_score,
                                                                max_side=side, **self._thread_option())
        return det

    def _thread_option(self) -> dict[str, int]:
        """`footage.threads` for a detector that takes a thread count (CenterFace), else nothing."""
        if self.fs.threads is None or "threads" not in detector_options_model(self.fs.detector).model_fields:
            return {}
        return {"threads": self.fs.threads}

    def every_n(self, fps: float | None) -> int:
        return max(1, round((fps or 25.0) / self.fs.detect_fps))

    def scan(
        self,
        source: FileSource,
        *,
        start_frame: int = 0,
        on_tracks: Callable[[list[FaceTrack], int, int], None] | None = None,
        on_progress: Callable[[ScanProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Iterator[FaceTrack]:
        """Yield finished tracks in the order they end.

        `should_stop()` true ends the scan with `ScanStopped` (after a detection frame).
        `on_tracks(tracks, resume_frame, frames_read)` is called every `checkpoint_s` of video
        and at the end with the tracks finished since the last call: storing them together with
        `resume_frame` makes a restart from there lose nothing and repeat nothing (every track
        still open starts at or after it). Tracks are also yielded, for callers that do not
        checkpoint."""
        fs = self.fs
        fps = source.fps or 25.0
        every_n = self.every_n(fps)
        size: tuple[int, int] | None = None
        tracker = Tracker(TrackConfig(lost_s=fs.lost_s, activation_threshold=fs.min_score,
                                      high_conf_threshold=max(fs.min_score, 0.6), min_iou=0.1, class_aware=False),
                          fps=fps / every_n)
        open_: dict[int, _Open] = {}
        pending: list[FaceTrack] = []
        done = 0
        checkpoint_every = max(every_n, int(round(fs.checkpoint_s * fps)))
        next_checkpoint = start_frame + checkpoint_every
        frames_read = start_frame
        pts = 0.0
        pts0: float | None = None  # offsets count from the first frame, as a player shows them
        # every frame's index and time, but the pixels of only the frames detected on: the RGB
        # conversion of a 720p frame costs as much as its decoding (a quarter of indexing time)
        frames = sample_file(source.path, lambda i: i >= start_frame and i % every_n == 0)
        for index, frame_pts, image in (_prefetched(frames, fs.decode_ahead * every_n) if fs.decode_ahead else frames):
            frames_read = index + 1
            t = frame_pts if frame_pts is not None else index / fps
            if pts0 is None:
                pts0 = t
            if image is None:
                continue
            pts = t - pts0
            size = (image.shape[1], image.shape[0])
            # the tracker associates boxes grown about their centre: between two detections a quarter
            # of a second apart a walking face moves about its own width, and plain boxes would not
            # overlap (every detection would start a track). The face itself stays in `o.face`.
            obs = [Observation(o.box.scaled(ASSOCIATION_GROWTH), o.score, o.label, o.face)
                   for o in self.detector_for(size).detect(image)
                   if o.face is not None and o.box.width >= fs.min_face_px]
            for tr in tracker.update(obs, pts):
                self._observe(open_.setdefault(tr.track_id, _Open(index, pts)), image, index, pts, tr.obs)
            finished = self._finish([open_.pop(t) for t in tracker.ended(pts) if t in open_])
            pending.extend(finished)
            done += len(finished)
            yield from finished
            if on_progress is not None:
                on_progress(ScanProgress(frames_read, source.frames_total, pts, done, size))
            if should_stop is not None and should_stop():
                raise ScanStopped(index)
            if index >= next_checkpoint:
                next_checkpoint = index + checkpoint_every
                resume = min([o.start_frame for o in open_.values()], default=index + 1)
                if on_tracks is not None:
                    on_tracks(pending, resume, frames_read)
                pending = []
        finished = self._finish([open_.pop(t) for t in tracker.ended(pts, all_tracks=True) if t in open_])
        pending.extend(finished)
        done += len(finished)
        yield from finished
        if on_tracks is not None:
            on_tracks(pending, frames_read, frames_read)
        if on_progress is not None:
            on_progress(ScanProgress(frames_read, source.frames_total, pts, done, size))

    def _observe(self, o: _Open, rgb: np.ndarray, index: int, pts: float, obs: Observation) -> None:
        o.end_frame, o.end_s = index, pts
        o.detections += 1
        face: Face = obs.face  # type: ignore[assignment]
        q = assess_quality(rgb, face, self.face_settings).score
        shots = o.shots if o.shots is not None else []
        o.shots = shots
        if len(shots) >= self.fs.best_shots and q <= shots[-1][0]:
            return  # not among the best few: never aligned
        with self.model_lock:
            chip = self.embedder.align(rgb, face)
        shots.append((q, chip))
        shots.sort(key=lambda s: -s[0])
        del shots[self.fs.best_shots:]
        if q > o.best_q:
            o.best_q, o.best_frame, o.best_s, o.best_box = q, index, pts, face.box
            o.chip = chip
            o.thumb = _thumbnail(rgb, face.box, self.fs.thumbnail_px)

    def _finish(self, ended: list[_Open]) -> list[FaceTrack]:
        keep = [o for o in ended if o.detections >= self.fs.min_detections and o.chip is not None]
        if not keep:
            return []
        chips = [c for o in keep for _q, c in (o.shots or [])]
        with self.model_lock:
            vectors = np.asarray(self.embedder.embed_chips(chips), dtype=np.float32)
        out = []
        at = 0
        for o in keep:
            n = len(o.shots or [])
            v = vectors[at:at + n].mean(axis=0)  # the track's template: the mean of its best shots
            at += n
            v = v / max(float(np.linalg.norm(v)), 1e-12)
            out.append(FaceTrack(o.start_frame, o.end_frame, o.start_s, o.end_s, o.best_frame, o.best_s,
                                 float(o.best_q), o.detections, o.best_box, v,  # type: ignore[arg-type]
                                 encode_jpeg(o.thumb, quality=85)))  # type: ignore[arg-type]
        return out
