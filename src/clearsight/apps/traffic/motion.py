"""Per-track motion on the ground: positions in metres, speed by a windowed fit, standing still, class by vote.

Why a straight-line fit over a window and not frame differences: detector boxes
jitter by a few pixels, and a difference of two jittery points at 10 fps makes a
parked car "move" at several km/h. The least-squares slope over `window_s`
averages the jitter out; its lag is half the window, so the window is short
(0.6 s by default) and the incidents that depend on it confirm over a fraction
of a second more.

Standing still has two thresholds on purpose: a vehicle *starts* standing when
its fitted speed drops below `still_speed` (so the moment it stopped is known to
within half a window), and it *stays* standing until it has left a circle of
`still_radius` around where it stopped (so box jitter never restarts the clock).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

import numpy as np

from ...stream.tracking import Tracked


def track_label(tracked: Tracked) -> str:
    """The class of a tracked object. Reads the track's own voted class when the tracker provides one
    (`Tracked.label`), otherwise the current detection's; the analyser votes over frames on top."""
    return str(getattr(tracked, "label", None) or tracked.obs.label)


@dataclass
class TrackMotion:
    """What the traffic analyser remembers about one track."""

    track_id: int
    history_s: float
    times: collections.deque[float] = field(default_factory=collections.deque)
    points: collections.deque[tuple[float, float]] = field(default_factory=collections.deque)  # ground, metres
    votes: collections.Counter[str] = field(default_factory=collections.Counter)
    anchor: tuple[float, float] | None = None  # last image anchor (bottom centre), pixels
    last_t: float = 0.0
    still_since: float | None = None
    still_at: tuple[float, float] | None = None
    speeds: list[float] = field(default_factory=list)  # m/s, every fitted estimate (for the track's summary)

    @property
    def label(self) -> str:
        return self.votes.most_common(1)[0][0] if self.votes else "object"

    def add(self, t: float, ground: tuple[float, float], anchor: tuple[float, float]) -> None:
        self.times.append(t)
        self.points.append(ground)
        self.anchor = anchor
        self.last_t = t
        while self.times and t - self.times[0] > self.history_s:
            self.times.popleft()
            self.points.popleft()

    def velocity(self, window_s: float, *, min_samples: int = 3) -> tuple[float, float] | None:
        """Ground velocity (m/s) fitted over the last `window_s`, or None while there is too little of it."""
        if not self.times:
            return None
        t_end = self.times[-1]
        idx = [i for i, t in enumerate(self.times) if t_end - t <= window_s + 1e-9]
        if len(idx) < min_samples:
            return None
        ts = np.array([self.times[i] for i in idx])
        if ts[-1] - ts[0] < 0.5 * window_s:
            return None
        ps = np.array([self.points[i] for i in idx])
        tc = ts - ts.mean()
        den = float(np.dot(tc, tc))
        v = (tc @ (ps - ps.mean(axis=0))) / den
        return float(v[0]), float(v[1])

    def update_still(self, t: float, speed: float | None, still_speed: float, still_radius: float,
                     window_s: float) -> None:
        """Start standing when slow, stop standing when moved away (see the module notes)."""
        here = self.points[-1]
        if self.still_since is not None and self.still_at is not None:
            if np.hypot(here[0] - self.still_at[0], here[1] - self.still_at[1]) > still_radius:
                self.still_since = self.still_at = None
        if self.still_since is None and speed is not None and speed < still_speed:
            # the fit's slope is the speed at the window's middle: it fell below the threshold about then
            self.still_since = max(t - window_s / 2.0, self.times[0])
            self.still_at = here

    def still_for(self, t: float) -> float:
        return 0.0 if self.still_since is None else t - self.still_since


__all__ = ["TrackMotion", "track_label"]
