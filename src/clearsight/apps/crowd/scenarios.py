"""Composed crowd scenes: real people over a real empty scene, with exact ground truth.

Why composed: no public video with labelled "people gathered and stood still at
time t" exists that we may ship; cutting real people out of real frames and
moving them over a real background gives pixels the detector treats as people,
and a script says exactly when a group stops. Nothing is stored: scenes are
generated in code, deterministically, from the shared test data.

- people: persons the COCO detector finds in TUD-Campus frames (box crops with
  a feathered elliptical mask, a little of their street comes with them);
- background: the per-pixel median of Mall frames (the mall with its shoppers
  removed);
- scripts: a group of K walking to a meeting point and staying (`gathering`),
  people who keep walking and crossing (`walking`), one direction of travel
  (`stream_right`).
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ...io import load_image
from ...io.video import Frame, VideoSource
from ...stream.detectors import Observation
from ...types import BBox

T0 = 1_700_000_000.0  # scene clocks start here (Unix seconds), so event times are reproducible


@dataclass(frozen=True)
class Person:
    image: np.ndarray  # RGB crop of the person's box
    mask: np.ndarray  # float32 0..1, same H x W


@dataclass(frozen=True)
class Walker:
    """A person following keyframes (t seconds, foot x, foot y), linearly interpolated; visible in [t0, t_last]."""

    person: Person
    keys: tuple[tuple[float, float, float], ...]
    height: float = 130.0  # on-screen box height, pixels (nanodet scores people this size 0.4-0.8)

    def at(self, t: float) -> tuple[float, float] | None:
        ks = self.keys
        if t < ks[0][0] or t > ks[-1][0]:
            return None
        for (ta, xa, ya), (tb, xb, yb) in zip(ks, ks[1:]):
            if ta <= t <= tb:
                u = 0.0 if tb == ta else (t - ta) / (tb - ta)
                return xa + u * (xb - xa), ya + u * (yb - ya)
        return ks[-1][1], ks[-1][2]


@dataclass
class CrowdScene:
    background: np.ndarray
    walkers: list[Walker]
    duration_s: float
    fps: float = 8.0
    noise: float = 1.5
    seed: int = 0
    # what the script says: the time a stationary cluster is due (None: never), its centre and size
    cluster_due_s: float | None = None
    cluster_centre: tuple[float, float] | None = None
    cluster_people: int = 0
    direction_deg: float | None = None
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return int(round(self.duration_s * self.fps))

    def render(self) -> Iterator[tuple[float, np.ndarray, list[BBox]]]:
        rng = np.random.default_rng(self.seed)
        H, W = self.background.shape[:2]
        bg = self.background.astype(np.float32)
        for i in range(self.frames):
            t = i / self.fps
            canvas = bg.copy()
            boxes: list[BBox] = []
            placed = [(w, p) for w in self.walkers if (p := w.at(t)) is not None]
            for w, (fx, fy) in sorted(placed, key=lambda wp: wp[1][1]):  # far (higher up) first
                s = w.height / w.person.image.shape[0]
                sw, sh = max(2, round(w.person.image.shape[1] * s)), max(2, round(w.height))
                img = cv2.resize(w.person.image, (sw, sh), interpolation=cv2.INTER_AREA)
                m = cv2.resize(w.person.mask, (sw, sh), interpolation=cv2.INTER_LINEAR)
                ox, oy = round(fx - sw / 2), round(fy - sh)
                x1, y1, x2, y2 = max(0, ox), max(0, oy), min(W, ox + sw), min(H, oy + sh)
                if x2 <= x1 or y2 <= y1:
                    continue
                sub = img[y1 - oy: y2 - oy, x1 - ox: x2 - ox].astype(np.float32)
                mm = m[y1 - oy: y2 - oy, x1 - ox: x2 - ox, None]
                canvas[y1:y2, x1:x2] = canvas[y1:y2, x1:x2] * (1 - mm) + sub * mm
                boxes.append(BBox(float(ox), float(oy), float(ox + sw), float(oy + sh)))
            if self.noise > 0:
                canvas += rng.normal(0, self.noise, canvas.shape).astype(np.float32)
            yield t, np.clip(canvas, 0, 255).astype(np.uint8), boxes


class SceneSource(VideoSource):
    """A composed scene as a video source (frame times from T0)."""

    def __init__(self, scene: CrowdScene, name: str = "composed") -> None:
        super().__init__(name)
        self.scene = scene
        self.fps = scene.fps
        self.size = (scene.background.shape[1], scene.background.shape[0])

    def frames(self) -> Iterator[Frame]:
        for i, (t, rgb, _) in enumerate(self.scene.render()):
            self.stats.decoded += 1
            self.stats.delivered += 1
            yield Frame(rgb, i, t, T0 + t, self.name)


# ---------------------------------------------------------------- real material
def mall_background(shared_data: Path, frames: int = 25) -> np.ndarray:
    """The Mall camera with its people removed: the per-pixel median of frames spread over the clip."""
    d = shared_data / "crowd" / "mall" / "frames"
    paths = sorted(d.glob("seq_*.jpg"))[:: max(1, 200 // frames)][:frames]
    if not paths:
        from ...errors import InputError

        raise InputError(f"no Mall frames under {d}")
    stack = np.stack([load_image(p) for p in paths])
    return np.median(stack, axis=0).astype(np.uint8)


def cut_people(shared_data: Path, n: int = 8, detector: object | None = None, check_on: np.ndarray | None = None,
               height: float = 130.0, min_score: float = 0.5) -> list[Person]:
    """Up to `n` whole, unoccluded people the COCO detector finds in TUD-Campus frames.

    With `check_on` (the scene's background), a cut person is kept only when the
    scenes' detector (`PersonStage`) finds it pasted there at `height` px with at
    least `min_score`: a scene measures the crowd logic, not crops the detector
    never saw as people.
    """
    from ...vision.objects import default_object_detector

    det = detector or default_object_detector("detect", min_score=0.5)
    stage = PersonStage(min_score=0.1) if check_on is not None else None
    frames = sorted((shared_data / "tracking" / "pedestrians" / "tud_campus" / "frames").glob("*.jpg"))
    people: list[Person] = []
    for p in frames[::3]:
        rgb = load_image(p)
        H, W = rgb.shape[:2]
        dets = [d for d in det.detect(rgb, classes=["person"])]  # type: ignore[attr-defined]
        for d in dets:
            b = d.box
            if b.height < 150 or b.x1 < 2 or b.x2 > W - 2 or b.y2 > H - 2 or b.height < 1.8 * b.width:
                continue
            if any(o is not d and b.iou(o.box) > 0.05 for o in dets):
                continue  # overlapped by someone else: the crop would carry two people
            x1, y1, x2, y2 = (int(round(v)) for v in b.as_xyxy())
            crop = np.ascontiguousarray(rgb[y1:y2, x1:x2])
            h, w = crop.shape[:2]
            mask = np.zeros((h, w), np.float32)
            cv2.ellipse(mask, (w // 2, h // 2), (int(w * 0.46), int(h * 0.49)), 0, 0, 360, 1.0, -1)
            mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, w * 0.04))
            person = Person(crop, mask)
            if stage is not None and check_on is not None and _pasted_score(person, check_on, height, stage) < min_score:
                continue
            people.append(person)
            if len(people) >= n:
                return people
    return people


def _pasted_score(person: Person, bg: np.ndarray, height: float, stage: PersonStage) -> float:
    H, W = bg.shape[:2]
    scene = CrowdScene(bg, [Walker(person, ((0.0, W * 0.7, H * 0.75), (1.0, W * 0.7, H * 0.75)), height)], 1.0, 1.0,
                       noise=0.0)
    _, rgb, boxes = next(scene.render())
    return max((o.score for o in stage.detect(rgb) if o.box.iou(boxes[0]) > 0.5), default=0.0)


# ---------------------------------------------------------------- scripts
def gathering(bg: np.ndarray, people: list[Person], *, k: int = 4, stop_s: float = 3.0, hold_s: float = 4.0,
              tail_s: float = 1.5, fps: float = 8.0, seed: int = 0) -> CrowdScene:
    """K people walk to a meeting point, the last arrives at `stop_s`, they stand until the end;
    two more keep walking past. A stationary cluster with T = `hold_s` is due at stop_s + hold_s."""
    H, W = bg.shape[:2]
    cx, cy = W * 0.7, H * 0.72  # open floor right of the planter (clutter there lowers person scores)
    offsets = [(-90, -10), (-30, 16), (30, -12), (90, 12), (0, -45), (-60, 45)][:k]
    rng = np.random.default_rng(seed)
    duration = stop_s + hold_s + tail_s
    walkers = []
    for i, (dx, dy) in enumerate(offsets):
        arrive = stop_s - 0.6 * (k - 1 - i)  # staggered; the last at stop_s
        start_x = -40.0 if i % 2 == 0 else W + 40.0
        start_y = cy + dy + rng.uniform(-60, 20)
        speed = 75.0  # px/s, ~0.7 heights/s: a walk
        t_start = arrive - math.hypot(cx + dx - start_x, cy + dy - start_y) / speed
        keys = [(min(t_start, 0.0) if t_start < 0 else t_start, start_x, start_y)]
        if t_start < 0:  # already on its way at t=0
            u = -t_start / (arrive - t_start)
            keys = [(0.0, start_x + u * (cx + dx - start_x), start_y + u * (cy + dy - start_y))]
        keys += [(arrive, cx + dx, cy + dy), (duration, cx + dx, cy + dy)]
        walkers.append(Walker(people[i % len(people)], tuple(keys)))
    # passers-by, never stopping
    walkers.append(Walker(people[(k) % len(people)], ((0.0, W + 30.0, H * 0.55), (duration, -30.0, H * 0.5))))
    walkers.append(Walker(people[(k + 1) % len(people)], ((0.0, -30.0, H * 0.99), (duration, W + 30.0, H * 0.97))))
    return CrowdScene(bg, walkers, duration, fps, seed=seed, cluster_due_s=stop_s + hold_s, cluster_centre=(cx, cy),
                      cluster_people=k, notes={"stop_s": stop_s, "hold_s": hold_s})


def walking(bg: np.ndarray, people: list[Person], *, n: int = 6, duration_s: float = 8.5, fps: float = 8.0,
            seed: int = 1) -> CrowdScene:
    """`n` people crossing the scene in several directions, passing close to each other, never stopping."""
    H, W = bg.shape[:2]
    rng = np.random.default_rng(seed)
    walkers = []
    for i in range(n):
        y0, y1 = rng.uniform(H * 0.5, H * 0.95), rng.uniform(H * 0.5, H * 0.95)
        lr = i % 2 == 0
        xa, xb = (-30.0, W + 30.0) if lr else (W + 30.0, -30.0)
        # all cross the middle around the same time: they pass close to each other while walking
        mid = duration_s / 2 + rng.uniform(-1.0, 1.0)
        speed = rng.uniform(60, 95)
        half = (W / 2 + 30) / speed
        walkers.append(Walker(people[i % len(people)], ((mid - half, xa, y0), (mid + half, xb, y1))))
    return CrowdScene(bg, walkers, duration_s, fps, seed=seed)


def stream_right(bg: np.ndarray, people: list[Person], *, n: int = 4, duration_s: float = 5.0, fps: float = 8.0,
                 seed: int = 2) -> CrowdScene:
    """`n` people walking left to right (direction 0 degrees in image axes)."""
    H, W = bg.shape[:2]
    walkers = []
    for i in range(n):
        y = H * (0.55 + 0.1 * i)
        x0 = W * (0.1 + 0.12 * i)
        walkers.append(Walker(people[i % len(people)], ((0.0, x0, y), (duration_s, x0 + 80.0 * duration_s, y + 10.0))))
    return CrowdScene(bg, walkers, duration_s, fps, seed=seed, direction_deg=0.0)


# ---------------------------------------------------------------- running a scene
class PersonStage:
    """The COCO detector as a stream detection stage (people only)."""

    name = "nanodet-people"
    label = "person"

    def __init__(self, min_score: float = 0.3) -> None:
        from ...vision.objects import create_object_detector

        self._det = create_object_detector("nanodet", min_score=min_score)

    def detect(self, rgb: np.ndarray) -> list[Observation]:
        return [Observation(d.box, d.score, "person") for d in self._det.detect(rgb, classes=["person"])]


def clip_events(scene: CrowdScene, settings: object, *, detector: object | None = None,
                zones: list | None = None) -> tuple[list, float]:
    """Run the crowd analyser over a composed scene: real detector, real tracker, frames in order.
    Returns (events, seconds per frame)."""
    from ...stream.analysers import FrameView
    from ...stream.config import TrackConfig
    from ...stream.tracking import Tracker
    from .analyser import CrowdAnalyser

    det = detector or PersonStage()
    # partly occluded people score 0.3-0.5 with nanodet: start tracks from 0.3 (the default 0.5 suits faces)
    tracker = Tracker(TrackConfig(activation_threshold=0.3, high_conf_threshold=0.45), fps=scene.fps)
    analyser = CrowdAnalyser(settings, camera="composed", zones=zones or [])  # type: ignore[arg-type]
    events = []
    t_start = _time.perf_counter()
    src = SceneSource(scene)
    n = 0
    for frame in src:
        obs = det.detect(frame.image)  # type: ignore[attr-defined]
        tracks = tracker.update(obs, frame.time)
        out = analyser.analyse(FrameView("composed", frame, tuple(tracks), tuple(obs), True))
        events.extend(out.events)
        n += 1
    analyser.close()
    return events, (_time.perf_counter() - t_start) / max(1, n)
