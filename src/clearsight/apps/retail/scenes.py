"""Composed queue scenes: real people cut from TUD-Campus, queueing over its real background.

Why composed: no public clip of a queue comes with the time each person waited.
These scenes are made in code, deterministically from a seed, and never stored:
the background is the per-pixel median of the 71 TUD-Campus frames (people walk
through, the median keeps the street), each sprite is a real person cut from a
frame at a ground-truth box where nobody else overlaps, with a mask of the pixels
that differ from the background. People arrive at random (exponential gaps), walk
to the tail of the line, step forward as the head is served (random service
times) and walk away; the ground truth is each person's exact time with the feet
inside the queue zone. Docs and benchmark tables say these scenes are composed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ...errors import InputError
from ...io.video import Frame, VideoSource

TUD = ("tracking", "pedestrians", "tud_campus")


@dataclass(frozen=True)
class PersonSprite:
    image: np.ndarray  # RGB, tight box of the person
    mask: np.ndarray  # float32 0..1, same H x W


def tud_background(shared_data: Path) -> np.ndarray:
    frames = sorted((shared_data.joinpath(*TUD) / "frames").glob("*.jpg"))
    if not frames:
        raise InputError(f"TUD-Campus frames not found under {shared_data}")
    stack = np.stack([cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in frames])
    return np.median(stack, axis=0).astype(np.uint8)


def tud_sprites(shared_data: Path, background: np.ndarray, per_person: int = 3) -> list[PersonSprite]:
    """Up to `per_person` sprites of each ground-truth person, from frames where the box overlaps no other."""
    root = shared_data.joinpath(*TUD)
    gt = np.loadtxt(root / "original_gt" / "gt.txt", delimiter=",")
    h, w = background.shape[:2]
    by_id: dict[int, list[PersonSprite]] = {}
    for f, pid, x, y, bw, bh, _ in gt:
        if len(by_id.get(int(pid), [])) >= per_person:
            continue
        x1, y1, x2, y2 = int(max(0, x)), int(max(0, y)), int(min(w, x + bw)), int(min(h, y + bh))
        if x2 - x1 < 40 or y2 - y1 < 120 or x1 <= 0 or x2 >= w or y2 >= h:
            continue
        others = gt[(gt[:, 0] == f) & (gt[:, 1] != pid)]
        if any(min(x2, o[2] + o[4]) > max(x1, o[2]) and min(y2, o[3] + o[5]) > max(y1, o[3]) for o in others):
            continue
        frame = cv2.cvtColor(cv2.imread(str(root / "frames" / f"{int(f):06d}.jpg")), cv2.COLOR_BGR2RGB)
        crop, bgc = frame[y1:y2, x1:x2], background[y1:y2, x1:x2]
        diff = np.abs(crop.astype(np.int16) - bgc.astype(np.int16)).max(axis=2)
        m = (diff > 28).astype(np.uint8)
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        n, lab, stats, _ = cv2.connectedComponentsWithStats(m)
        if n < 2:
            continue
        big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        mask = (lab == big).astype(np.float32)
        if mask.mean() < 0.3:
            continue
        mask = cv2.GaussianBlur(mask, (5, 5), 0)
        by_id.setdefault(int(pid), []).append(PersonSprite(np.ascontiguousarray(crop), mask))
    sprites = [s for ss in by_id.values() for s in ss]
    if not sprites:
        raise InputError("no clean person crops found in TUD-Campus")
    return sprites


@dataclass
class Customer:
    sprite: PersonSprite
    arrive: float  # enters the frame (left edge)
    path: list[tuple[float, float, float]] = field(default_factory=list)  # (time, feet x, feet y) key points

    def position(self, t: float) -> tuple[float, float] | None:
        p = self.path
        if t < p[0][0] or t > p[-1][0]:
            return None
        for (t0, x0, y0), (t1, x1, y1) in zip(p, p[1:]):
            if t0 <= t <= t1:
                u = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
                return x0 + u * (x1 - x0), y0 + u * (y1 - y0)
        return p[-1][1], p[-1][2]


@dataclass
class QueueScene:
    """A scripted queue; `truth` gives each customer's exact time in the queue zone."""

    background: np.ndarray
    customers: list[Customer]
    zone: tuple[tuple[float, float], ...]  # pixels
    duration_s: float
    fps: float = 5.0
    height_px: int = 170  # sprites are scaled to this height
    seed: int = 0

    def frame(self, t: float, rng: np.random.Generator) -> np.ndarray:
        canvas = self.background.astype(np.float32)
        H, W = canvas.shape[:2]
        placed = [(c, pos) for c in self.customers if (pos := c.position(t)) is not None]
        for c, (fx, fy) in sorted(placed, key=lambda cp: cp[1][1]):
            s = self.height_px / c.sprite.image.shape[0]
            sw, sh = max(2, round(c.sprite.image.shape[1] * s)), self.height_px
            img = cv2.resize(c.sprite.image, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
            m = cv2.resize(c.sprite.mask, (sw, sh), interpolation=cv2.INTER_LINEAR)[..., None]
            ox, oy = round(fx - sw / 2), round(fy - sh)
            x1, y1, x2, y2 = max(0, ox), max(0, oy), min(W, ox + sw), min(H, oy + sh)
            if x2 <= x1 or y2 <= y1:
                continue
            sub, mm = img[y1 - oy: y2 - oy, x1 - ox: x2 - ox], m[y1 - oy: y2 - oy, x1 - ox: x2 - ox]
            canvas[y1:y2, x1:x2] = canvas[y1:y2, x1:x2] * (1 - mm) + sub * mm
        canvas += rng.normal(0, 2.0, canvas.shape).astype(np.float32)
        return np.clip(canvas, 0, 255).astype(np.uint8)

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        rng = np.random.default_rng(self.seed)
        for i in range(int(self.duration_s * self.fps)):
            t = i / self.fps
            yield t, self.frame(t, rng)

    def truth(self) -> list[tuple[float, float]]:
        """(entered, left) of every customer's feet in the zone, sampled at the frame rate (what a
        perfect tracker at this frame rate would see)."""
        poly = np.asarray(self.zone, np.float32).reshape(-1, 1, 2)
        out = []
        for c in self.customers:
            inside = [i / self.fps for i in range(int(self.duration_s * self.fps))
                      if (p := c.position(i / self.fps)) is not None and cv2.pointPolygonTest(poly, p, False) >= 0]
            if inside:
                out.append((inside[0], inside[-1]))
        return out

    def source(self, name: str = "queue", start_time: float = 1_700_000_000.0) -> VideoSource:
        return _SceneSource(self, name, start_time)


class _SceneSource(VideoSource):
    def __init__(self, scene: QueueScene, name: str, start_time: float) -> None:
        super().__init__(name)
        self.scene, self.start_time = scene, start_time
        self.fps = scene.fps
        self.size = (scene.background.shape[1], scene.background.shape[0])

    def frames(self) -> Iterator[Frame]:
        for i, (t, rgb) in enumerate(self.scene.frames()):
            self.stats.decoded += 1
            self.stats.delivered += 1
            yield Frame(rgb, i, t, self.start_time + t, self.name)


def queue_scene(shared_data: Path, *, seed: int = 0, duration_s: float = 120.0, mean_arrival_s: float = 9.0,
                mean_service_s: float = 7.0, fps: float = 5.0, slots: int = 6) -> QueueScene:
    """A single-server queue along the pavement: head at the right, tail growing to the left.

    Arrivals are exponential (mean `mean_arrival_s`); a customer who would find all
    `slots` taken does not join. Service times are exponential (mean
    `mean_service_s`, at least 2 s). People walk at 60 px/s and step forward
    within 1.5 s; they stop arriving `3 * mean_service_s` before the end so most
    waits finish inside the scene.
    """
    bg = tud_background(shared_data)
    sprites = tud_sprites(shared_data, bg)
    rng = np.random.default_rng(seed)
    H, W = bg.shape[:2]
    feet_y, head_x, gap = 440.0, W - 90.0, 85.0
    slot_x = [head_x - k * gap for k in range(slots)]
    speed, step_s = 60.0, 1.5
    zone = ((slot_x[-1] - gap / 2, feet_y - 25), (head_x + gap / 2, feet_y - 25),
            (head_x + gap / 2, feet_y + 25), (slot_x[-1] - gap / 2, feet_y + 25))
    customers: list[Customer] = []
    queue: list[Customer] = []  # waiting, head first
    served_until = 0.0
    t_arr = float(rng.exponential(mean_arrival_s)) * 0.3
    last_arrival = duration_s - 3 * mean_service_s
    events: list[tuple[float, str, Customer | None]] = []
    # an event loop over arrivals and service ends, then positions from the schedule
    schedule: dict[int, list[tuple[float, int]]] = {}  # customer -> [(time, slot)]
    leave: dict[int, float] = {}
    head_since = 0.0
    t = 0.0
    while t_arr < last_arrival or queue:
        next_done = served_until if queue else float("inf")
        if t_arr < last_arrival and t_arr <= next_done:
            t = t_arr
            if len(queue) < slots:
                c = Customer(sprites[int(rng.integers(len(sprites)))], t)
                reach = t + (slot_x[len(queue)] + 40) / speed  # walk in from off-screen left
                schedule[id(c)] = [(reach, len(queue))]
                if not queue:
                    served_until = max(reach, t) + max(2.0, float(rng.exponential(mean_service_s)))
                    head_since = reach
                queue.append(c)
                customers.append(c)
            t_arr = t + float(rng.exponential(mean_arrival_s))
        else:
            t = next_done
            head = queue.pop(0)
            leave[id(head)] = t
            for k, c in enumerate(queue):
                schedule[id(c)].append((max(t, schedule[id(c)][-1][0]), k))
            if queue:
                head_since = max(t + step_s, schedule[id(queue[0])][0][0])
                served_until = head_since + max(2.0, float(rng.exponential(mean_service_s)))
    del events, head_since
    for c in customers:
        pts: list[tuple[float, float, float]] = [(c.arrive, -40.0, feet_y)]
        for when, slot in schedule[id(c)]:
            x = slot_x[slot]
            prev_t, prev_x = pts[-1][0], pts[-1][1]
            if pts[-1][1] != x:
                if len(pts) == 1:  # the walk in
                    pts.append((when, x, feet_y))
                else:
                    pts.append((max(when, prev_t), prev_x, feet_y))
                    pts.append((max(when, prev_t) + step_s, x, feet_y))
        out_t = leave[id(c)]
        pts.append((max(out_t, pts[-1][0]), pts[-1][1], feet_y))
        pts.append((pts[-1][0] + (W + 40 - pts[-1][1]) / speed, W + 40.0, feet_y))
        c.path = pts
    return QueueScene(bg, customers, zone, duration_s, fps=fps, seed=seed)
