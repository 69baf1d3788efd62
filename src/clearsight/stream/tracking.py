"""Multi-object tracking: ByteTrack (the `trackers` package, Roboflow's clean-room
implementation that speaks `supervision.Detections`) behind a small adapter.

The adapter keeps what the tracker drops: each tracked box comes back with its
`Observation` (and so its `Face` with landmarks), which recognition needs. Tracks
that have not been seen for `lost_s` seconds are reported as ended, so per-track
decisions (identity vote, zone exit) can be closed exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import TrackConfig
from .detectors import Observation


@dataclass(frozen=True, slots=True)
class Tracked:
    track_id: int
    obs: Observation

    @property
    def box(self):  # noqa: ANN201 - BBox
        return self.obs.box


class Tracker:
    def __init__(self, config: TrackConfig | None = None, fps: float = 25.0) -> None:
        from trackers import ByteTrackTracker

        self.config = config or TrackConfig()
        c = self.config
        self._bt = ByteTrackTracker(
            lost_track_buffer=max(1, int(round(c.lost_s * 30))),  # the library counts 30-fps frames
            frame_rate=float(fps),
            track_activation_threshold=c.activation_threshold,
            minimum_consecutive_frames=c.min_frames,
            minimum_iou_threshold=c.min_iou,
            high_conf_det_threshold=c.high_conf_threshold,
        )
        self.last_seen: dict[int, float] = {}
        self.first_seen: dict[int, float] = {}

    def update(self, observations: list[Observation], t: float) -> list[Tracked]:
        import supervision as sv

        if observations:
            xyxy = np.array([o.box.as_xyxy() for o in observations], dtype=np.float32)
            dets = sv.Detections(xyxy=xyxy, confidence=np.array([o.score for o in observations], dtype=np.float32),
                                 data={"idx": np.arange(len(observations))})
        else:
            dets = sv.Detections.empty()
        out = self._bt.update(dets)
        tracked = []
        if len(out):
            for tid, idx in zip(out.tracker_id, out.data.get("idx", [])):
                if tid < 0:
                    continue
                tid = int(tid)
                self.last_seen[tid] = t
                self.first_seen.setdefault(tid, t)
                tracked.append(Tracked(tid, observations[int(idx)]))
        return tracked

    def ended(self, t: float, *, all_tracks: bool = False) -> list[int]:
        """Tracks unseen for `lost_s` (or all, at end of stream); each reported once."""
        gone = [tid for tid, last in self.last_seen.items() if all_tracks or t - last > self.config.lost_s]
        for tid in gone:
            del self.last_seen[tid]
        return gone


class NoTracker:
    """Tracking disabled: every detection is its own one-frame track (ids never repeat)."""

    def __init__(self) -> None:
        self._next = 1
        self.first_seen: dict[int, float] = {}
        self.last_seen: dict[int, float] = {}

    def update(self, observations: list[Observation], t: float) -> list[Tracked]:
        out = []
        for o in observations:
            out.append(Tracked(self._next, o))
            self.last_seen[self._next] = t
            self.first_seen[self._next] = t
            self._next += 1
        return out

    def ended(self, t: float, *, all_tracks: bool = False) -> list[int]:
        gone = list(self.last_seen)
        self.last_seen.clear()
        return gone
