"""Scenario videos with exact ground truth, composed from real driver frames.

No public driver video with frame-exact eye-closure and glance labels is available
offline, so the timing of every alert is tested on videos composed from real
in-car frames (../shared/data/dms/drowsiness_yawn_eyes/yawn/no_yawn):

* "road": a real frame of a driver looking ahead (default `no_yawn/2476.jpg`);
* "away": a real frame of the *same* driver, same camera and session, head turned
  towards the side window (`no_yawn/2484.jpg`);
* "closed": the road frame with both eyes closed by a mesh-guided eyelid warp
  (`close_eyes`): the skin between the brow and the upper lid is stretched down
  until the lid margin (lashes) lies just above the lower lid, and the lower lid
  skin is compressed beneath it, i.e. the upper lid descends the way it does in a
  real blink. Only pixels of the real photo are moved, none are painted.
* "blocked": the road frame under a hand over the lens (blurred to uniformity and
  darkened).

A `Scenario` is a list of (state, seconds) segments; `frames(fps)` yields
(rgb, timestamp, state) at exact timestamps i / fps, so the same scenario runs at
15, 25 and 30 fps and the ground truth is in seconds, never in frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .signals import EYES

# warp parameters (fractions of the lid gap); chosen by eye on three drivers so the
# eye-contour model reads the warped eye as closed like real closed eyes
LID_TRAVEL = 1.0
BROW_GAP = 2.0
LOWER_SKIP = 0.25
ROAD_FRAME = "yawn/no_yawn/2476.jpg"
AWAY_FRAME = "yawn/no_yawn/2484.jpg"


def _lid_curve(points: np.ndarray, idx: tuple[int, ...], corners: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    pts = np.vstack([points[corners[0], :2], points[list(idx), :2], points[corners[1], :2]])
    order = np.argsort(pts[:, 0])
    return pts[order, 0], pts[order, 1]


def close_eyes(rgb: np.ndarray, mesh_points: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """The same photo with both eyes closed by moving the upper lid down (see module doc).

    `amount` 0..1 is how far the lid travels (1 = closed). Needs the 478-point mesh
    of this very image.
    """
    h, w = rgb.shape[:2]
    map_y = np.tile(np.arange(h, dtype=np.float32)[:, None], (1, w))
    map_x = np.tile(np.arange(w, dtype=np.float32)[None, :], (h, 1))
    disp = np.zeros((h, w), np.float32)
    for e in EYES.values():
        ux, uy = _lid_curve(mesh_points, e["upper"], e["corners"])
        lx, ly = _lid_curve(mesh_points, e["lower"], e["corners"])
        x0, x1 = int(np.floor(min(ux[0], lx[0]))), int(np.ceil(max(ux[-1], lx[-1])))
        width = max(x1 - x0, 4)
        height = float(np.max(np.interp(np.arange(x0, x1), lx, ly) - np.interp(np.arange(x0, x1), ux, uy)))
        brow_gap = BROW_GAP * max(height, 2.0)
        for x in range(max(x0 - width // 4, 0), min(x1 + width // 4 + 1, w)):
            xc = min(max(x, x0), x1)
            u = float(np.interp(xc, ux, uy))
            lo = float(np.interp(xc, lx, ly))
            lid_h = max(lo - u, 0.0)
            c = u + amount * LID_TRAVEL * lid_h  # where the lid margin ends up
            b = u - brow_gap  # brow side: unmoved
            d = max(lid_h, 2.0)  # below the lower lid: unmoved
            ys = np.arange(max(int(b), 0), min(int(lo + d) + 1, h))
            src = ys.astype(np.float32).copy()
            top = ys <= c
            if c > b:
                src[top] = b + (ys[top] - b) * (u - b) / (c - b)
            bot = ~top
            if lo + d > c:
                # [c, lo + d] <- [lo, lo + d]: the lower lid skin compressed under the lid margin
                lo_src = lo + LOWER_SKIP * lid_h  # start below the lid line, past any sclera
                src[bot] = lo_src + (ys[bot] - c) * (lo + d - lo_src) / (lo + d - c)
            taper = 1.0 if x0 <= x <= x1 else max(0.0, 1.0 - abs(x - xc) / max(width / 4, 1))
            disp[ys, x] = (src - ys) * taper
    disp = cv2.GaussianBlur(disp, (0, 0), 1.2)
    out = cv2.remap(rgb, map_x, map_y + disp, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out


def block_camera(rgb: np.ndarray) -> np.ndarray:
    """A hand over the lens: no texture, little light."""
    mean = rgb.reshape(-1, 3).mean(axis=0) * 0.3
    return np.broadcast_to(mean.astype(np.uint8), rgb.shape).copy()


@dataclass(frozen=True)
class Scenario:
    """Segments of (state, seconds); states are keys of the frame bank."""

    name: str
    segments: tuple[tuple[str, float], ...]
    # expected alerts: (event type, ground-truth time in seconds, data match) — filled by `expected`
    notes: str = ""

    @property
    def duration(self) -> float:
        return float(sum(d for _, d in self.segments))

    def state_at(self, t: float) -> str:
        acc = 0.0
        for state, d in self.segments:
            if t < acc + d - 1e-9:
                return state
            acc += d
        return self.segments[-1][0]

    def times(self, fps: float) -> np.ndarray:
        n = int(np.floor(self.duration * fps + 1e-9))
        return np.arange(n, dtype=np.float64) / fps

    def onsets(self, state: str) -> list[tuple[float, float]]:
        """(start, duration) of every segment in `state`, in seconds."""
        out, acc = [], 0.0
        for s, d in self.segments:
            if s == state:
                out.append((acc, d))
            acc += d
        return out


@dataclass
class FrameBank:
    """The real frames a scenario is composed of, keyed by state."""

    frames: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_dataset(cls, root: str | Path, road: str = ROAD_FRAME, away: str = AWAY_FRAME) -> FrameBank:
        from ...io import load_image
        from ...vision.landmarks import FaceMesh

        root = Path(root)
        road_rgb = load_image(root / road)
        mesh = FaceMesh(max_faces=1, static=True)
        try:
            found = mesh.process(road_rgb)
        finally:
            mesh.close()
        if not found:
            raise ValueError(f"no face mesh on {root / road}")
        pts = np.asarray(found[0].points)
        return cls(
            {
                "road": road_rgb,
                "closed": close_eyes(road_rgb, pts),
                "away": load_image(root / away),
                "blocked": block_camera(road_rgb),
            }
        )

    def frames_of(self, scenario: Scenario, fps: float) -> Iterator[tuple[np.ndarray, float, str]]:
        for t in scenario.times(fps):
            state = scenario.state_at(float(t))
            yield self.frames[state], float(t), state


# --------------------------------------------------------------- the scenario set
CALIB = 6.0  # seconds of open eyes on the road first: the per-driver calibration


def standard_scenarios() -> list[Scenario]:
    return [
        Scenario("blink_0.4s", (("road", CALIB), ("closed", 0.4), ("road", 4.0)), "a blink: no alert"),
        Scenario("closed_1.5s", (("road", CALIB), ("closed", 1.5), ("road", 4.0)), "microsleep at +1.0 s"),
        Scenario("closed_4s", (("road", CALIB), ("closed", 4.0), ("road", 4.0)), "microsleep at +1.0 s, sleep at +3.0 s"),
        Scenario("glance_2.5s", (("road", CALIB), ("away", 2.5), ("road", 4.0)), "below 3 s: no alert"),
        Scenario("glance_3.5s", (("road", CALIB), ("away", 3.5), ("road", 4.0)), "long glance at +3.0 s"),
        Scenario(
            "glances_cumulative",
            (("road", CALIB), *((("away", 2.2), ("road", 0.8)) * 5), ("road", 3.0)),
            "2.2 s glances every 3 s: cumulative > 10 s within 30 s during the 5th glance",
        ),
        Scenario("blocked_5s", (("road", CALIB), ("blocked", 5.0), ("road", 3.0)), "absent (camera blocked) after 2 s"),
    ]


def no_event_scenario(minutes: float = 2.0) -> Scenario:
    """Normal driving: blinks of 0.2 s every ~4 s and 1.2 s mirror checks every ~12 s."""
    segs: list[tuple[str, float]] = [("road", CALIB)]
    t = CALIB
    k = 0
    while t < minutes * 60.0:
        k += 1
        segs += [("road", 3.8), ("closed", 0.2)]
        t += 4.0
        if k % 3 == 0:
            segs += [("road", 1.0), ("away", 1.2)]
            t += 2.2
    return Scenario(f"no_event_{minutes:g}min", tuple(segs), "no alert expected")


def drowsy_scenario() -> Scenario:
    """Slow 0.8 s eye closures every 3.8 s: PERCLOS ~0.2 and no single closure of 1 s."""
    segs: list[tuple[str, float]] = [("road", CALIB)]
    t = CALIB
    while t < 70.0:
        segs += [("road", 3.0), ("closed", 0.8)]
        t += 3.8
    return Scenario("drowsy_perclos", tuple(segs), "drowsy once 60 s of PERCLOS >= 0.15 are observed")


def write_video(bank: FrameBank, scenario: Scenario, fps: int, path: str | Path) -> Path:
    """Encode a scenario as a video file (for the CLI and for people to look at)."""
    from ...io.writer import VideoWriter

    path = Path(path)
    with VideoWriter(path, fps, codec="libx264" if path.suffix == ".mp4" else "mpeg4") as writer:
        for rgb, _t, _state in bank.frames_of(scenario, fps):
            writer.write(rgb)
    return path


@dataclass(frozen=True)
class Expected:
    type: str
    detail: str  # level / kind / reason
    time: float  # the first frame at which the alert is due


def expected_alerts(scenario: Scenario, fps: float, settings=None) -> list[Expected]:
    """Ground truth from the script alone (no perception): when each alert is due.

    Episodes start at their first frame; an alert is due at the first frame whose
    timestamp reaches start + threshold (cumulative: first frame with > 10 s of
    glances within the window). Agitation has no scripted ground truth.
    """
    from ...settings import DmsSettings

    s = settings or DmsSettings()
    times = scenario.times(fps)
    states = [scenario.state_at(float(t)) for t in times]
    out: list[Expected] = []

    def episodes(state: str) -> list[tuple[float, float]]:
        eps, start = [], None
        for t, st in zip(times, states):
            if st == state and start is None:
                start = float(t)
            elif st != state and start is not None:
                eps.append((start, float(t)))
                start = None
        if start is not None:
            eps.append((start, float(times[-1]) + 1.0 / fps))
        return eps

    def due(start: float, after: float, end: float) -> float | None:
        ts = [float(t) for t in times if t >= start + after - 1e-9 and t < end]
        return ts[0] if ts else None

    for a, b in episodes("closed"):
        for level, thr in (("microsleep", s.microsleep_s), ("sleep", s.sleep_s)):
            t = due(a, thr, b)
            if t is not None:
                out.append(Expected("dms.microsleep", level, t))
    away = episodes("away")
    for a, b in away:
        t = due(a, s.long_glance_s, b)
        if t is not None:
            out.append(Expected("dms.distracted", "long_glance", t))
    for t in times:
        lo = t - s.cumulative_window_s
        cum = sum(max(0.0, min(b, t) - max(a, lo)) for a, b in away if a <= t)
        if cum > s.cumulative_s + 1e-9:
            out.append(Expected("dms.distracted", "cumulative", float(t)))
            break
    for a, b in episodes("blocked"):
        t = due(a, s.absent_s, b)
        if t is not None:
            out.append(Expected("dms.absent", "camera_blocked", t))
    closed = np.array([st == "closed" for st in states], dtype=np.float64)
    visible = np.array([st in ("road", "closed", "away") for st in states])
    for i, t in enumerate(times):
        if t < s.perclos_window_s - 1e-9:
            continue
        lo = t - s.perclos_window_s
        m = (times >= lo - 1e-9) & (times < t - 1e-9) & visible
        if m.any() and closed[m].mean() >= s.perclos_drowsy:
            out.append(Expected("dms.drowsy", "perclos", float(t)))
            break
    return sorted(out, key=lambda e: e.time)


def detail_of(event) -> str:
    d = event.data
    return str(d.get("level") or d.get("kind") or d.get("reason") or ("perclos" if event.type == "dms.drowsy" else ""))


def restless_scenario() -> Scenario:
    """The head snapping between road and side window every 0.4 s for 12 s (agitation cue)."""
    return Scenario("restless_12s", (("road", CALIB), *((("away", 0.4), ("road", 0.4)) * 15), ("road", 3.0)), "agitated within the restless stretch")
