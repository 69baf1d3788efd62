"""What footage indexing and search hand back: small frozen records, JSON-ready."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import ClearsightError


class FootageSearchRefused(ClearsightError):
    """A footage search without a purpose it serves, or without a legal basis: refused and audited."""

    code = "footage_search_refused"
    exit_code = 5
    http_status = 403


def clock(seconds: float) -> str:
    """`m:ss.s` (or `h:mm:ss.s`): how a person says where in a video something is."""
    s = max(0.0, float(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{int(h)}:{int(m):02d}:{sec:04.1f}" if h else f"{int(m)}:{sec:04.1f}"


@dataclass(frozen=True)
class IndexReport:
    """One video of an index run. `status`: indexed, resumed (finished an interrupted run),
    already_indexed (same content indexed before, maybe under another path), interrupted
    (stopped; the next run resumes it), failed."""

    path: str
    status: str
    video_id: str | None = None
    tracks: int = 0  # tracks this video holds now
    frames: int = 0
    duration_s: float | None = None
    seconds: float = 0.0  # wall time of this run
    error: str | None = None

    @property
    def speed(self) -> float | None:
        """Indexing speed as a multiple of real time (video seconds per wall second)."""
        return self.duration_s / self.seconds if self.duration_s and self.seconds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "video_id": self.video_id, "tracks": self.tracks,
                "frames": self.frames, "duration_s": self.duration_s, "seconds": round(self.seconds, 3),
                "speed_x_realtime": None if self.speed is None else round(self.speed, 2), "error": self.error}


@dataclass(frozen=True)
class FootageVideo:
    video_id: str
    path: str
    status: str
    duration_s: float | None
    fps: float | None
    width: int | None
    height: int | None
    frames_done: int
    tracks: int
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class FootageHit:
    """One candidate appearance: where in which video, how similar, for a human to review."""

    track_id: int
    video_id: str
    video: str  # the path the video was indexed from
    start_s: float
    end_s: float
    best_s: float
    start_frame: int
    end_frame: int
    similarity: float
    above_threshold: bool  # passes the candidates-mode threshold (worth a review first), never a match
    box: dict[str, float] | None = None  # the best shot's face box in its frame (x1, y1, x2, y2 pixels)

    @property
    def span(self) -> str:
        return f"{clock(self.start_s)}-{clock(self.end_s)}"

    def to_dict(self) -> dict[str, Any]:
        return {"track_id": self.track_id, "video_id": self.video_id, "video": self.video,
                "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "best_s": round(self.best_s, 3),
                "start_frame": self.start_frame, "end_frame": self.end_frame, "span": self.span,
                "similarity": round(self.similarity, 4), "above_threshold": self.above_threshold, "box": self.box}


@dataclass(frozen=True)
class FootageSearch:
    """A candidates-mode result: a ranked list for human review, never an identification."""

    purpose: str
    mode: str
    hits: tuple[FootageHit, ...]
    threshold: float | None  # candidates threshold at `fpir` over `n` tracks (None: not calibrated)
    fpir: float
    n: int  # tracks searched
    model: str

    def to_dict(self) -> dict[str, Any]:
        return {"purpose": self.purpose, "mode": self.mode, "threshold": self.threshold, "fpir": self.fpir,
                "n": self.n, "model": self.model, "review": "human", "hits": [h.to_dict() for h in self.hits]}
