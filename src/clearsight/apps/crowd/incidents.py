"""Crowd incidents as small state machines over time: gatherings, stationary clusters,
running, counter-flow and overcrowding.

Each detector gets the current observations of one zone per analysed frame and
returns `(event type, data, track ids)`; each fires once per episode (a group, a
run, a crowding) and re-arms only when the episode is over, so a rule on these
events gets one alert per incident, not one per frame.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .settings import ClusterSettings, RunningSettings

Emitted = tuple[str, dict[str, object], tuple[int, ...]]

STATIONARY_CLUSTER = "crowd.stationary_cluster"
FORMED = "crowd.formed"
DISPERSED = "crowd.dispersed"
RUNNING = "crowd.running"
COUNTER_FLOW = "crowd.counter_flow"
OVERCROWDED = "zone.overcrowded"
COUNT = "crowd.count"
FLOW = "crowd.flow"


def find_groups(points: dict[int, tuple[float, float]], min_people: int, radius: float) -> list[tuple[tuple[float, float], list[int]]]:
    """Groups of at least `min_people` points within `radius` of the group's centre.

    Each free point seeds a candidate: the centre moves to the mean of the points
    within the radius of it (a few mean-shift steps), so people standing in a row
    2R long are found around their middle, which no single member's own circle
    covers. The candidate with the most members becomes a group, its members leave
    the pool, and the search repeats. Each point belongs to at most one group.
    """
    ids = list(points)
    xy = np.array([points[i] for i in ids], np.float64).reshape(-1, 2)
    free = np.ones(len(ids), bool)
    groups = []
    while free.sum() >= min_people:
        cand = np.where(free)[0]
        best: tuple[int, np.ndarray, np.ndarray] | None = None
        for seed in cand:
            centre = xy[seed]
            members = cand[np.linalg.norm(xy[cand] - centre, axis=1) <= radius]
            for _ in range(4):
                near = cand[np.linalg.norm(xy[cand] - centre, axis=1) <= 2 * radius]
                centre = xy[near].mean(0) if len(members) < min_people else xy[members].mean(0)
                members = cand[np.linalg.norm(xy[cand] - centre, axis=1) <= radius]
            if best is None or len(members) > best[0]:
                best = (len(members), centre, members)
        if best is None or best[0] < min_people:
            break
        _, centre, members = best
        groups.append(((float(centre[0]), float(centre[1])), [ids[i] for i in members]))
        free[members] = False
    return groups


@dataclass
class _Group:
    centre: tuple[float, float]
    members: list[int]
    first_seen: float
    last_seen: float
    reported: bool = False


class _GroupBook:
    """Groups matched over time by their centre (within the radius)."""

    def __init__(self, radius: float) -> None:
        self.radius = radius
        self.groups: list[_Group] = []

    def match(self, found: list[tuple[tuple[float, float], list[int]]], t: float) -> list[_Group]:
        seen = []
        for centre, members in found:
            g = min(self.groups, key=lambda g: math.dist(g.centre, centre), default=None)
            if g is not None and g not in seen and math.dist(g.centre, centre) <= self.radius:
                g.centre, g.members, g.last_seen = centre, members, t
            else:
                g = _Group(centre, members, t, t)
                self.groups.append(g)
            seen.append(g)
        return seen

    def expire(self, t: float, after_s: float) -> list[_Group]:
        gone = [g for g in self.groups if t - g.last_seen > after_s]
        self.groups = [g for g in self.groups if g not in gone]
        return gone


class ClusterWatch:
    """`crowd.formed` / `crowd.dispersed` (gatherings) and `crowd.stationary_cluster` from tracked people."""

    def __init__(self, cfg: ClusterSettings, zone: str) -> None:
        self.cfg, self.zone = cfg, zone
        self.gatherings = _GroupBook(cfg.radius)
        self.still_groups = _GroupBook(cfg.radius)

    def update(self, t: float, positions: dict[int, tuple[float, float]], still_since: dict[int, float]) -> list[Emitted]:
        c = self.cfg
        out: list[Emitted] = []
        for g in self.gatherings.match(find_groups(positions, c.min_people, c.radius), t):
            if not g.reported and t - g.first_seen >= c.formed_s:
                g.reported = True
                out.append((FORMED, {"zone": self.zone, "people": len(g.members), "centre": _r(g.centre),
                                     "radius": c.radius, "since": g.first_seen}, tuple(g.members)))
        for g in self.gatherings.expire(t, c.formed_s):
            if g.reported:
                out.append((DISPERSED, {"zone": self.zone, "people": len(g.members), "centre": _r(g.centre),
                                        "lasted_s": round(g.last_seen - g.first_seen, 2)}, tuple(g.members)))
        still = {tid: p for tid, p in positions.items() if tid in still_since}
        for centre, members in find_groups(still, c.min_people, c.radius):
            # the group became stationary when its K-th member stopped
            since = sorted(still_since[m] for m in members)[c.min_people - 1]
            g = self.still_groups.match([(centre, members)], t)[0]
            if not g.reported and t - since >= c.min_duration_s:
                g.reported = True
                out.append((STATIONARY_CLUSTER, {"zone": self.zone, "people": len(members), "centre": _r(centre),
                                                 "radius": c.radius, "still_since": round(since, 3),
                                                 "source": "tracks"}, tuple(members)))
        self.still_groups.expire(t, 2.0)
        return out


class DenseClusterWatch:
    """`crowd.stationary_cluster` in a dense crowd: calibrated density within the radius where the
    optical flow stays below the speed threshold, held for T."""

    def __init__(self, cfg: ClusterSettings, zone: str) -> None:
        self.cfg, self.zone = cfg, zone
        self.since: float | None = None
        self.reported = False

    def update(self, t: float, people_map: np.ndarray | None, still_mask: np.ndarray | None, cell_px: float) -> list[Emitted]:
        """`people_map`: calibrated people per cell (cells of `cell_px` image pixels); `still_mask`: cells whose
        flow is below the threshold, same shape."""
        import cv2

        c = self.cfg
        if people_map is None or still_mask is None:
            return []
        r = max(1, int(round(c.radius / cell_px)))
        disc = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
        cv2.circle(disc, (r, r), r, 1.0, -1)
        still_people = cv2.filter2D((people_map * still_mask).astype(np.float32), -1, disc, borderType=cv2.BORDER_CONSTANT)
        best = float(still_people.max()) if still_people.size else 0.0
        if best < c.min_people:
            self.since, self.reported = None, False
            return []
        if self.since is None:
            self.since = t
        if self.reported or t - self.since < c.min_duration_s:
            return []
        self.reported = True
        y, x = np.unravel_index(int(np.argmax(still_people)), still_people.shape)
        centre = ((x + 0.5) * cell_px, (y + 0.5) * cell_px)
        return [(STATIONARY_CLUSTER, {"zone": self.zone, "people": round(best, 1), "centre": _r(centre),
                                      "radius": c.radius, "still_since": round(self.since, 3), "source": "density"}, ())]


@dataclass
class Hold:
    """A condition that must hold `hold_s` before it fires, once per episode."""

    hold_s: float
    since: float | None = None
    fired: bool = False

    def update(self, t: float, active: bool) -> bool:
        if not active:
            self.since, self.fired = None, False
            return False
        if self.since is None:
            self.since = t
        if not self.fired and t - self.since >= self.hold_s:
            self.fired = True
            return True
        return False


@dataclass
class RunningWatch:
    """A zone's typical speed jumps: now >= rise x the baseline, and fast in absolute terms."""

    cfg: RunningSettings
    hold_s: float
    history: deque[tuple[float, float]] = field(default_factory=deque)
    hold: Hold | None = None

    def update(self, t: float, speed: float | None, fast_people: int, absolute: bool = True) -> dict[str, object] | None:
        c = self.cfg
        if self.hold is None:
            self.hold = Hold(self.hold_s)
        base = [s for ts, s in self.history if t - ts > 1.0]
        baseline = float(np.median(base)) if base else None
        if speed is not None:
            self.history.append((t, speed))
        while self.history and t - self.history[0][0] > c.baseline_s + 1.0:
            self.history.popleft()
        active = (speed is not None and baseline is not None
                  and speed >= c.rise * max(baseline, 0.1)
                  and (not absolute or (speed >= c.min_speed and fast_people >= c.min_people)))
        if self.hold.update(t, active):
            return {"speed": round(float(speed or 0.0), 3), "baseline": round(float(baseline or 0.0), 3),
                    "running_people": fast_people}
        return None


def _r(p: tuple[float, float]) -> list[float]:
    return [round(float(p[0]), 1), round(float(p[1]), 1)]
