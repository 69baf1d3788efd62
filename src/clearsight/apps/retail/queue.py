"""Queue length and the estimated wait for a queue zone.

Two estimates, because each fails differently:

- **Little's law**, W = L / lambda: the mean number of people in the zone over the
  window divided by the arrival rate. L is counted on every detection frame and
  needs no identities; lambda counts arrivals (stays of at least `min_stay_s`).
  A track broken in two by an occlusion adds a false arrival and shortens W; a
  person the detector misses while standing in line lowers L and shortens W too.
- **Service rate at the head**, W = L_now / mu: the people now waiting divided by
  the rate at which people leave the zone: the wait of someone joining now.

`retail.queue` carries both and the observed mean stay of the people who left in
the window (exact only when tracks survive the whole wait). The choice of the
headline `wait_s` (Little) is by measurement on composed queues, see
`bench/retail.py` and docs/retail.md.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from ...stream.zones import Zone
from ...types import BBox
from .stays import Stay


@dataclass(frozen=True, slots=True)
class QueueState:
    length: int
    mean_length: float
    arrivals: int
    departures: int
    window_s: float
    wait_s: float | None  # Little's law
    service_wait_s: float | None  # length now / departure rate
    observed_wait_s: float | None  # mean stay of the people who left in the window

    def to_dict(self) -> dict[str, float | int | None]:
        r = lambda v: None if v is None else round(float(v), 2)  # noqa: E731
        return {"length": self.length, "mean_length": r(self.mean_length), "arrivals": self.arrivals,
                "departures": self.departures, "window_s": r(self.window_s), "wait_s": r(self.wait_s),
                "service_wait_s": r(self.service_wait_s), "observed_wait_s": r(self.observed_wait_s)}


class QueueMonitor:
    def __init__(self, zone: Zone, *, window_s: float = 120.0) -> None:
        self.zone = zone
        self.window_s = float(window_s)
        self._lengths: collections.deque[tuple[float, int]] = collections.deque()
        self._arrivals: collections.deque[float] = collections.deque()
        self._departures: collections.deque[tuple[float, float]] = collections.deque()  # (end, duration)
        self._t0: float | None = None
        self.length = 0

    def observe(self, t: float, boxes: list[BBox]) -> None:
        """One detection frame: how many people stand in the zone."""
        from ...stream.zones import anchor_point

        if self._t0 is None:
            self._t0 = t
        self.length = sum(1 for b in boxes if self.zone.contains(anchor_point(b, "bottom")))
        self._lengths.append((t, self.length))
        self._trim(t)

    def arrived(self, t: float) -> None:
        self._arrivals.append(t)

    def departed(self, stay: Stay) -> None:
        self._departures.append((stay.end, stay.duration))

    def _trim(self, t: float) -> None:
        lo = t - self.window_s
        for dq in (self._lengths, self._arrivals):
            while dq and (dq[0][0] if isinstance(dq[0], tuple) else dq[0]) < lo:
                dq.popleft()
        while self._departures and self._departures[0][0] < lo:
            self._departures.popleft()

    def state(self, t: float) -> QueueState:
        self._trim(t)
        span = min(self.window_s, t - self._t0) if self._t0 is not None else 0.0
        if len(self._lengths) >= 2:
            ts = np.array([x for x, _ in self._lengths])
            ls = np.array([n for _, n in self._lengths], np.float64)
            dt = np.diff(np.append(ts, t))
            mean_len = float((ls * dt).sum() / dt.sum()) if dt.sum() > 0 else float(ls.mean())
        else:
            mean_len = float(self.length)
        arrivals = sum(1 for a in self._arrivals if a >= t - self.window_s)
        departures = len(self._departures)
        wait = mean_len / (arrivals / span) if arrivals and span > 0 else None
        service = self.length / (departures / span) if departures and span > 0 else None
        observed = float(np.mean([d for _, d in self._departures])) if departures else None
        return QueueState(self.length, mean_len, arrivals, departures, span, wait, service, observed)
