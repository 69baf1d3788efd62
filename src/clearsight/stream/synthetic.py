"""Compose test videos from real face photos moving over a real background,
with exact ground truth of who is where in every frame.

Why: public face videos with identity labels per frame are rare and not
licensable for a test suite; composing real photos (LFW, deepface's set) over a
real street frame gives faces the detector and embedder treat as real, and the
ground truth is exact by construction. Each photo is cut around its detected
face (so the face box inside the sprite is known), pasted with a feathered
elliptical mask, and moved along a straight line between two points.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError, NoFaceError
from ..io import load_image
from ..types import BBox


@dataclass(frozen=True)
class Sprite:
    image: np.ndarray  # RGB
    face: BBox  # the face box in sprite pixels
    mask: np.ndarray  # float32 0..1, same H x W


def make_sprite(photo: str | Path | np.ndarray, *, detector: object | None = None, grow: float = 1.7) -> Sprite:
    """Cut a head-and-shoulders sprite around the largest face of a real photo."""
    from ..vision.face_detection import create_detector

    rgb = load_image(photo)
    det = detector or create_detector("centerface")
    faces = det.detect(rgb)  # type: ignore[attr-defined]
    if not faces:
        raise NoFaceError(f"no face in sprite photo {photo if not isinstance(photo, np.ndarray) else 'array'}")
    f = max(faces, key=lambda x: x.box.area)
    h, w = rgb.shape[:2]
    c = f.box.scaled(grow).clip(w, h)
    x1, y1, x2, y2 = int(c.x1), int(c.y1), int(c.x2), int(c.y2)
    img = np.ascontiguousarray(rgb[y1:y2, x1:x2])
    sh, sw = img.shape[:2]
    mask = np.zeros((sh, sw), np.float32)
    cv2.ellipse(mask, (sw // 2, sh // 2), (int(sw * 0.46), int(sh * 0.48)), 0, 0, 360, 1.0, -1)
    k = max(3, (min(sw, sh) // 8) | 1)
    mask = cv2.GaussianBlur(mask, (k, k), 0)
    face = BBox(f.box.x1 - x1, f.box.y1 - y1, f.box.x2 - x1, f.box.y2 - y1)
    return Sprite(img, face, mask)


@dataclass(frozen=True)
class Actor:
    """One person: a sprite moving from `start` to `end` (face centre, pixels) during [first, last] frames."""

    identity: str
    sprite: Sprite
    first: int
    last: int
    start: tuple[float, float]
    end: tuple[float, float]
    face_width: float = 90.0  # pixels on screen


@dataclass
class Scene:
    background: np.ndarray  # RGB, frame size
    actors: list[Actor]
    frames: int
    fps: float = 25.0
    noise: float = 2.0  # sensor-like noise (std, grey levels) so frames are not identical
    seed: int = 0
    truth: list[list[tuple[str, BBox]]] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        return self.background.shape[1], self.background.shape[0]

    def render(self) -> Iterator[tuple[np.ndarray, list[tuple[str, BBox]]]]:
        """Frames and, for each, the (identity, face box) of every visible person."""
        rng = np.random.default_rng(self.seed)
        H, W = self.background.shape[:2]
        bg = self.background.astype(np.float32)
        for i in range(self.frames):
            canvas = bg.copy()
            gt: list[tuple[str, BBox]] = []
            for a in self.actors:
                if not (a.first <= i <= a.last):
                    continue
                u = 0.0 if a.last == a.first else (i - a.first) / (a.last - a.first)
                cx = a.start[0] + u * (a.end[0] - a.start[0])
                cy = a.start[1] + u * (a.end[1] - a.start[1])
                s = a.face_width / max(1.0, a.sprite.face.width)
                sw, sh = max(2, round(a.sprite.image.shape[1] * s)), max(2, round(a.sprite.image.shape[0] * s))
                img = cv2.resize(a.sprite.image, (sw, sh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
                m = cv2.resize(a.sprite.mask, (sw, sh), interpolation=cv2.INTER_LINEAR)
                fcx, fcy = a.sprite.face.center
                ox, oy = round(cx - fcx * s), round(cy - fcy * s)
                x1, y1, x2, y2 = max(0, ox), max(0, oy), min(W, ox + sw), min(H, oy + sh)
                if x2 <= x1 or y2 <= y1:
                    continue
                sub = img[y1 - oy: y2 - oy, x1 - ox: x2 - ox].astype(np.float32)
                mm = m[y1 - oy: y2 - oy, x1 - ox: x2 - ox, None]
                canvas[y1:y2, x1:x2] = canvas[y1:y2, x1:x2] * (1 - mm) + sub * mm
                fb = a.sprite.face
                box = BBox(ox + fb.x1 * s, oy + fb.y1 * s, ox + fb.x2 * s, oy + fb.y2 * s).clip(W, H)
                if box.area > 0:
                    gt.append((a.identity, box))
            if self.noise > 0:
                canvas += rng.normal(0, self.noise, canvas.shape).astype(np.float32)
            yield np.clip(canvas, 0, 255).astype(np.uint8), gt

    def write(self, path: str | Path) -> list[list[tuple[str, BBox]]]:
        from ..io.writer import VideoWriter

        truth = []
        with VideoWriter(path, fps=self.fps, crf=18) as w:
            for rgb, gt in self.render():
                w.write(rgb)
                truth.append(gt)
        self.truth = truth
        return truth


def background(shared_data: Path, size: tuple[int, int] = (960, 540)) -> np.ndarray:
    """A real street scene (TUD-Campus frame 1) resized to `size`."""
    p = shared_data / "tracking" / "pedestrians" / "tud_campus" / "frames" / "000001.jpg"
    return cv2.resize(load_image(p), size, interpolation=cv2.INTER_LINEAR)


def lfw_identities(shared_data: Path, n: int, per_person: int = 4, offset: int = 0) -> list[tuple[str, list[Path]]]:
    """`n` LFW people (from the identification subset, 10 photos each), `per_person` photos each."""
    root = shared_data / "faces" / "lfw_gray"
    rows: dict[str, list[Path]] = {}
    with open(root / "images.csv", newline="") as f:
        for r in csv.DictReader(f):
            if str(r.get("in_identification_subset", "")).lower() in ("1", "true", "yes"):
                rows.setdefault(r["identity"], []).append(root / r["path"])
    people = sorted(rows)[offset: offset + n]
    if len(people) < n:
        raise InputError(f"only {len(people)} LFW identities available")
    return [(p, sorted(rows[p])[:per_person]) for p in people]


def crossing_scene(
    sprites: Sequence[tuple[str, Sprite]], *, bg: np.ndarray, fps: float = 25.0, seconds_each: float = 2.0,
    overlap: float = 0.5, face_width: float = 90.0, seed: int = 0,
) -> Scene:
    """People cross the frame one after another (overlapping in time, in different lanes)."""
    H, W = bg.shape[:2]
    rng = np.random.default_rng(seed)
    dur = int(round(seconds_each * fps))
    step = max(1, int(round(dur * (1 - overlap))))
    actors = []
    lanes = np.linspace(H * 0.3, H * 0.7, 3)
    for k, (ident, sp) in enumerate(sprites):
        first = k * step
        y = float(lanes[k % len(lanes)] + rng.uniform(-10, 10))
        left_to_right = k % 2 == 0
        xs = (W * 0.08, W * 0.92) if left_to_right else (W * 0.92, W * 0.08)
        actors.append(Actor(ident, sp, first, first + dur - 1, (xs[0], y), (xs[1], y + rng.uniform(-20, 20)), face_width))
    frames = actors[-1].last + 1 if actors else 0
    return Scene(bg, actors, frames, fps, seed=seed)


__all__ = ["Actor", "Scene", "Sprite", "background", "crossing_scene", "lfw_identities", "make_sprite"]
