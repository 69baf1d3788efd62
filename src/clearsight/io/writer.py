"""Video writers: annotated and redacted footage out through PyAV (FFmpeg).

H.264 (libx264) in MP4 is what every player and browser opens; MPEG-4 Part 2 is
the fallback when the FFmpeg build has no x264. Frames are RGB uint8 like
everything else in Clearsight; odd sizes are padded to even (yuv420p needs it)
rather than refused, so any camera's frames can be written.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import InputError
from .video import VideoSourceError

_CODECS = ("libx264", "h264", "mpeg4")


class VideoWriter:
    def __init__(self, path: str | Path, fps: float = 25.0, *, codec: str | None = None, crf: int = 23) -> None:
        import av

        self.path = Path(path)
        if fps <= 0:
            raise InputError("fps must be positive")
        if not self.path.parent.exists():
            raise InputError(f"output folder does not exist: {self.path.parent}")
        self.fps = Fraction(fps).limit_denominator(1001)
        self._av = av
        try:
            self._container = av.open(str(self.path), mode="w")
        except (av.FFmpegError, OSError) as exc:
            raise VideoSourceError(f"cannot write video {self.path}: {exc}") from exc
        self._codec_choice = [codec] if codec else [c for c in _CODECS if c in av.codecs_available]
        self._crf = crf
        self._stream = None
        self._size: tuple[int, int] | None = None
        self.frames_written = 0

    def _open_stream(self, width: int, height: int) -> None:
        last: Exception | None = None
        for name in self._codec_choice:
            try:
                stream = self._container.add_stream(name, rate=self.fps)
            except (self._av.FFmpegError, ValueError) as exc:
                last = exc
                continue
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
            if name == "libx264":
                stream.options = {"crf": str(self._crf), "preset": "veryfast"}
            self._stream = stream
            self.codec = name
            return
        raise VideoSourceError(f"no usable video encoder ({', '.join(self._codec_choice)}): {last}")

    def write(self, rgb: np.ndarray) -> None:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise InputError("frames must be RGB uint8 arrays of shape (H, W, 3)")
        h, w = rgb.shape[:2]
        if self._stream is None:
            self._size = (w + (w & 1), h + (h & 1))
            self._open_stream(*self._size)
        assert self._size is not None
        tw, th = self._size
        if (w, h) != (tw, th):
            canvas = np.zeros((th, tw, 3), np.uint8)
            canvas[: min(h, th), : min(w, tw)] = rgb[:th, :tw]
            rgb = canvas
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        if self._container is None:
            return
        try:
            if self._stream is not None:
                for packet in self._stream.encode():
                    self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["VideoWriter"]
