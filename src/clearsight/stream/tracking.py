"""Multi-object tracking: ByteTrack (the `trackers` package, Roboflow's clean-room
implementation that speaks `supervision.Detections`) behind a small adapter.

The adapter keeps what the tracker drops: each tracked box comes back with its
`Observation` (and so its `Face` with landmarks), which recognition needs. Tracks
that have not been seen for `lost_s` seconds are reported as ended, so per-track
decisions (identity vote, zone exit) can be closed exactly once.

Class-aware tracking: one ByteTrack per class *group* (`CLASS_GROUPS`: people,
two-wheelers, four-wheeled vehicles), so a person's box never continues a car's
track. Within a group the per-frame label is not trusted: the COCO detectors call
one small vehicle car in one frame and truck in the next (on NGSIM most
tiled-centernet duplicates were exactly that), and associating strictly per class
would cut the track at every flip. The track's class is the majority vote over the
frames it was seen in (ties go to the larger summed score), exposed as
`Tracked.label`; `Tracked.obs.label` keeps the frame's own label.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..vision.objects import CLASS_GROUPS, class_group
from .config import TrackConfig
from .detectors import Observation

__all__ = ["CLASS_GROUPS", "NoTracker", "Tracked", "Tracker", "class_group"]


@dataclass(frozen=True, slots=True)
class Tracked:
    track_id: int
    obs: Observation
    label: str = field(default="")  # the track's class by vote; defaults to the observation's

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self.obs.label)

    @property
    def box(self):  # noqa: ANN201 - BBox
        return self.obs.box


class _Votes:
    """Per-track label counts (and summed scores, the tie-break)."""

    __slots__ = ("counts", "scores")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.scores: Counter[str] = Counter()

    def add(self, label: str, score: float) -> None:
        self.counts[label] += 1
        self.scores[label] += score

    def winner(self) -> str:
        return max(self.counts, key=lambda k: (self.counts[k], self.scores[k]))


class Tracker:
    def __init__(self, config: TrackConfig | None = None, fps: float = 25.0) -> None:
        self.config = config or TrackConfig()
        self.fps = float(fps)
        self._groups: dict[str, object] = {}  # group -> ByteTrackTracker
        self._ids: dict[tuple[str, int], int] = {}  # (group, the library's id) -> our id
        self._next_id = 1
        self._votes: dict[int, _Votes] = {}
        self._ended_labels: dict[int, str] = {}  # the final vote of the tracks the last `ended()` reported
        self.last_seen: dict[int, float] = {}
        self.first_seen: dict[int, float] = {}

    def _new_bytetrack(self):  # noqa: ANN202 - trackers.ByteTrackTracker
        from trackers import ByteTrackTracker

        c = self.config
        return ByteTrackTracker(
            lost_track_buffer=max(1, int(round(c.lost_s * 30))),  # the library counts 30-fps frames
            frame_rate=self.fps,
            track_activation_threshold=c.activation_threshold,
            minimum_consecutive_frames=c.min_frames,
            minimum_iou_threshold=c.min_iou,
            high_conf_det_threshold=c.high_conf_threshold,
        )

    def update(self, observations: list[Observation], t: float) -> list[Tracked]:
        by_group: dict[str, list[int]] = {}
        for i, o in enumerate(observations):
            by_group.setdefault(class_group(o.label) if self.config.class_aware else "*", []).append(i)
        for g in by_group:
            if g not in self._groups:
                self._groups[g] = self._new_bytetrack()
        tracked = []
        # every group's tracker steps every frame (an empty frame ages its tracks too)
        for g, bt in self._groups.items():
            idx = by_group.get(g, [])
            tracked.extend(self._step(g, bt, [observations[i] for i in idx], t))
        return tracked

    def _step(self, group: str, bt, observations: list[Observation], t: float) -> list[Tracked]:  # noqa: ANN001
        import supervision as sv

        if observations:
            xyxy = np.array([o.box.as_xyxy() for o in observations], dtype=np.float32)
            dets = sv.Detections(xyxy=xyxy, confidence=np.array([o.score for o in observations], dtype=np.float32),
                                 data={"idx": np.arange(len(observations))})
        else:
            dets = sv.Detections.empty()
        out = bt.update(dets)
        tracked = []
        if len(out):
            for lib_id, idx in zip(out.tracker_id, out.data.get("idx", [])):
                if lib_id < 0:
                    continue
                key = (group, int(lib_id))
                tid = self._ids.get(key)
                if tid is None:
                    tid = self._ids[key] = self._next_id
                    self._next_id += 1
                obs = observations[int(idx)]
                votes = self._votes.setdefault(tid, _Votes())
                votes.add(obs.label, obs.score)
                self.last_seen[tid] = t
                self.first_seen.setdefault(tid, t)
                tracked.append(Tracked(tid, obs, votes.winner()))
        return tracked

    def label(self, track_id: int) -> str | None:
        """The voted class of a live track, or of one the last `ended()` call reported."""
        v = self._votes.get(track_id)
        return v.winner() if v else self._ended_labels.get(track_id)

    def ended(self, t: float, *, all_tracks: bool = False) -> list[int]:
        """Tracks unseen for `lost_s` (or all, at end of stream); each reported once."""
        gone = [tid for tid, last in self.last_seen.items() if all_tracks or t - last > self.config.lost_s]
        self._ended_labels = {}
        for tid in gone:
            del self.last_seen[tid]
            v = self._votes.pop(tid, None)
            if v is not None:
                self._ended_labels[tid] = v.winner()
        if gone:
            ended = set(gone)
            self._ids = {k: v for k, v in self._ids.items() if v not in ended}
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

    def label(self, track_id: int) -> str | None:
        return None

    def ended(self, t: float, *, all_tracks: bool = False) -> list[int]:
        gone = list(self.last_seen)
        self.last_seen.clear()
        return gone
