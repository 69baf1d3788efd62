"""Stays of anonymous tracks in zones: when each started and how long it lasted.

The dwell distribution and the queue both need the same thing: a person's time
inside a polygon, from the first detection with the feet inside to the last one.
Measuring to the last detection inside (not the first outside) keeps the length
independent of how often detection runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...stream.zones import Zone, anchor_point
from ...types import BBox


@dataclass(frozen=True, slots=True)
class Stay:
    zone: str
    track_id: int
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(slots=True)
class _Open:
    start: float
    last: float


class ZoneStays:
    """Open and finished stays per zone; a stay shorter than `min_stay_s` is dropped as passing through."""

    def __init__(self, zones: list[Zone], *, min_stay_s: float = 1.0) -> None:
        self.zones = zones
        self.min_stay_s = float(min_stay_s)
        self._open: dict[tuple[str, int], _Open] = {}

    def update(self, track_id: int, box: BBox, t: float) -> list[Stay]:
        done: list[Stay] = []
        pt = anchor_point(box, "bottom")
        for z in self.zones:
            key = (z.name, track_id)
            st = self._open.get(key)
            if z.contains(pt):
                if st is None:
                    self._open[key] = _Open(t, t)
                else:
                    st.last = t
            elif st is not None:
                del self._open[key]
                done += self._finished(z.name, track_id, st)
        return done

    def _finished(self, zone: str, track_id: int, st: _Open) -> list[Stay]:
        s = Stay(zone, track_id, st.start, st.last)
        return [s] if s.duration >= self.min_stay_s else []

    def end_track(self, track_id: int) -> list[Stay]:
        done: list[Stay] = []
        for (zone, tid), st in list(self._open.items()):
            if tid == track_id:
                del self._open[(zone, tid)]
                done += self._finished(zone, tid, st)
        return done

    def inside(self, zone: str, t: float) -> list[tuple[int, float]]:
        """(track, stay start) of every open stay in `zone`."""
        return [(tid, st.start) for (z, tid), st in self._open.items() if z == zone]
