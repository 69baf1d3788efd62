"""Body reshaping for livestreams: slimmer or fuller waist, legs and arms.

Pose landmarks say where each limb runs; the person mask says which pixels are
the person. Only the person is warped (each limb squeezed or widened across its
own axis), then composited over a background plate, so walls, door frames and
horizons stay straight instead of bending around the body, the usual tell of a
"slimming" filter. The plate is the background as last seen (video) or inpainted
(first frame / photos) where the person hid it.

Each control is -1..1: negative slimmer, positive fuller; at ±1 the limb's width
changes by `MAX_CHANGE` (25%).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .errors import EffectConfigError

BODY_PARAMS = ("waist", "legs", "arms")
MAX_CHANGE = 0.25
MIN_VISIBILITY = 0.5

# (start, end, fallback half-width as a fraction of the segment's length, param)
_LIMBS = (
    (11, 13, 0.18, "arms"), (13, 15, 0.15, "arms"),
    (12, 14, 0.18, "arms"), (14, 16, 0.15, "arms"),
    (23, 25, 0.22, "legs"), (25, 27, 0.15, "legs"),
    (24, 26, 0.22, "legs"), (26, 28, 0.15, "legs"),
)


def half_width(mask: np.ndarray | None, a: np.ndarray, b: np.ndarray, fallback: float) -> float:
    """Half the person's width across the a->b axis, read from the mask at three
    places along it; the pose model gives joints, not thickness, and a side-on
    walker's shoulder width says nothing about their legs."""
    if mask is None:
        return fallback
    d = b - a
    length = float(np.hypot(*d))
    if length < 2:
        return fallback
    n = np.array([-d[1], d[0]]) / length
    reach = max(8.0, 0.8 * length)
    ts = np.linspace(-reach, reach, 81)
    halves = []
    for s in (0.3, 0.5, 0.7):
        pts = (a + s * d)[None, :] + ts[:, None] * n[None, :]
        vals = cv2.remap(mask, pts[:, 0:1].astype(np.float32), pts[:, 1:2].astype(np.float32), cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)[:, 0]
        inside = vals > 0.5
        mid = len(ts) // 2
        if not inside[mid]:
            continue
        lo = mid
        while lo > 0 and inside[lo - 1]:
            lo -= 1
        hi = mid
        while hi < len(ts) - 1 and inside[hi + 1]:
            hi += 1
        halves.append(max(abs(ts[lo]), abs(ts[hi])))
    if not halves:
        return fallback
    return float(np.clip(np.median(halves), 0.3 * fallback, 3.0 * fallback))


def _profile(t: np.ndarray) -> np.ndarray:
    """1 up to half the band, then a raised-cosine fall to 0 at the band's edge."""
    t = np.clip(t, 0.0, 1.0)
    return np.where(t < 0.5, 1.0, 0.5 * (1.0 + np.cos(np.pi * (t - 0.5) / 0.5)))


def _window(s: np.ndarray, margin: float) -> np.ndarray:
    """Along-limb weight: full in the middle, fading to 0 over `margin` at each end."""
    a = np.clip((s + margin) / (2 * margin), 0.0, 1.0)
    b = np.clip((1.0 + margin - s) / (2 * margin), 0.0, 1.0)
    return np.minimum(a, b) ** 2 * (3 - 2 * np.minimum(a, b))


def _segment_field(gx: np.ndarray, gy: np.ndarray, a: np.ndarray, b: np.ndarray, half: float, change: float) -> tuple[np.ndarray, np.ndarray]:
    """Backward displacement that scales distances across the a->b axis by (1 + change)
    within the limb, easing back to identity at twice the limb's half-width."""
    d = b - a
    length = float(np.hypot(*d))
    if length < 1.0 or half < 1.0:
        return np.zeros_like(gx), np.zeros_like(gy)
    along = d / length
    normal = np.array([-along[1], along[0]])
    rx, ry = gx - a[0], gy - a[1]
    s = (rx * along[0] + ry * along[1]) / length
    u = rx * normal[0] + ry * normal[1]
    band = 2.2 * half
    k = 1.0 + change
    # output at offset u samples the source at u / k near the axis (k < 1: slimmer)
    w = _profile(np.abs(u) / band) * _window(s, 0.15)
    du = u * (1.0 / k - 1.0) * w
    return du * normal[0], du * normal[1]


@dataclass
class Body:
    params: dict[str, float] = field(default_factory=dict)
    name: str = "body"
    needs: tuple[str, ...] = ("pose", "segmentation")
    step: int = 4
    _plate: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        clean = {}
        for k, v in self.params.items():
            if k not in BODY_PARAMS:
                raise EffectConfigError(f"unknown body parameter {k!r}; known: {', '.join(BODY_PARAMS)}")
            v = float(v)
            if not -1.0 <= v <= 1.0:
                raise EffectConfigError(f"{k} must be within -1..1 (negative = slimmer), got {v}")
            clean[k] = v
        self.params = clean

    @property
    def active(self) -> bool:
        return any(abs(v) > 0 for v in self.params.values())

    def segments(self, pose: np.ndarray, mask: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray, float, float]]:
        """(start, end, half-width px, change) of every limb that is visible and asked for."""
        vis = pose[:, 2] >= MIN_VISIBILITY
        out = []
        for a, b, frac, key in _LIMBS:
            v = self.params.get(key, 0.0)
            if v and vis[a] and vis[b]:
                pa, pb = pose[a, :2].astype(np.float64), pose[b, :2].astype(np.float64)
                half = half_width(mask, pa, pb, frac * float(np.hypot(*(pb - pa))))
                out.append((pa, pb, half, MAX_CHANGE * v))
        v = self.params.get("waist", 0.0)
        if v and vis[11] and vis[12] and vis[23] and vis[24]:
            top = (pose[11, :2] + pose[12, :2]) / 2.0
            hip = (pose[23, :2] + pose[24, :2]) / 2.0
            # the waist: the lower half of the torso, squeezed across the spine
            a = (top + 0.35 * (hip - top)).astype(np.float64)
            b = (hip + 0.1 * (hip - top)).astype(np.float64)
            half = half_width(mask, a, b, 0.3 * float(np.hypot(*(hip - top))))
            out.append((a, b, half, MAX_CHANGE * v))
        return out

    def field(self, shape: tuple[int, int], pose: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]] | None:
        """Full-resolution backward maps over the touched rectangle, or None."""
        segs = self.segments(pose, mask)
        if not segs:
            return None
        h, w = shape
        pts = np.concatenate([[a, b] for a, b, _, _ in segs])
        pad = max(2.2 * half for _, _, half, _ in segs) + 4
        x0, y0 = np.maximum(np.floor(pts.min(axis=0) - pad).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(pts.max(axis=0) + pad).astype(int), [w, h])
        if x1 - x0 < 4 or y1 - y0 < 4:
            return None
        st = self.step
        nx, ny = -(-(x1 - x0) // st), -(-(y1 - y0) // st)
        gx, gy = np.meshgrid(x0 + (np.arange(nx) + 0.5) * st - 0.5, y0 + (np.arange(ny) + 0.5) * st - 0.5)
        fx = np.zeros_like(gx)
        fy = np.zeros_like(gy)
        for a, b, half, change in segs:
            dx, dy = _segment_field(gx, gy, a, b, half, change)
            fx += dx
            fy += dy
        fx = cv2.resize(fx.astype(np.float32), None, fx=st, fy=st, interpolation=cv2.INTER_LINEAR)[: y1 - y0, : x1 - x0]
        fy = cv2.resize(fy.astype(np.float32), None, fx=st, fy=st, interpolation=cv2.INTER_LINEAR)[: y1 - y0, : x1 - x0]
        xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        return xs + fx, ys + fy, (int(x0), int(y0), int(x1), int(y1))

    def _update_plate(self, frame: np.ndarray, mask: np.ndarray, video: bool, rect: tuple[int, int, int, int]) -> np.ndarray:
        """Background with the person removed: last seen background where known,
        inpainted (at quarter resolution: the composite only shows it at the
        person's edge) inside `rect` where the person has always been."""
        bg = (mask < 0.2).astype(np.uint8)
        if self._plate is None or self._plate.shape != frame.shape or not video:
            self._plate = frame.copy()
            self._known = np.zeros(mask.shape, np.uint8)
        cv2.copyTo(frame, bg, self._plate)
        cv2.bitwise_or(self._known, bg, self._known)
        x0, y0, x1, y1 = rect
        holes = (self._known[y0:y1, x0:x1] == 0).astype(np.uint8)
        if holes.any():
            q = 4
            roi = self._plate[y0:y1, x0:x1]
            small = cv2.resize(roi, (max(1, (x1 - x0) // q), max(1, (y1 - y0) // q)), interpolation=cv2.INTER_AREA)
            hole_small = cv2.resize(holes * 255, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
            hole_small = cv2.dilate(hole_small, np.ones((3, 3), np.uint8))
            filled = cv2.inpaint(small, hole_small, 3, cv2.INPAINT_TELEA)
            up = cv2.resize(filled, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
            cv2.copyTo(up, holes, roi)
        return self._plate

    def apply(self, frame: np.ndarray, ctx) -> np.ndarray:
        if not self.active:
            return frame
        pose = ctx.body
        if pose is None:
            return frame
        mask = ctx.person_mask
        f = self.field(frame.shape[:2], pose, mask)
        if f is None:
            return frame
        map_x, map_y, (x0, y0, x1, y1) = f
        video = bool(getattr(ctx.perception, "video", True))
        plate = self._update_plate(frame, mask, video, (x0, y0, x1, y1))
        person = cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        m_w = cv2.remap(mask, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out = frame.copy()
        out[y0:y1, x0:x1] = cv2.blendLinear(person, np.ascontiguousarray(plate[y0:y1, x0:x1]), m_w, 1.0 - m_w)
        new_mask = mask.copy()
        new_mask[y0:y1, x0:x1] = m_w
        ctx.person_mask = new_mask
        return out
