"""Mesh-driven beautification: skin smoothing, brightening and local reshaping.

Each control is a strength in 0..1 and 0 means "not applied" (the frame is
returned untouched). Reshaping is one smooth field per face built from mesh
point moves (see `warp.py`), so eye, nose, chin and jaw changes combine without
seams and the rest of the frame does not move. Strength has a measurable
meaning so it can be tested and explained to the user:

* eye_enlarge s: each eye opening's area grows by a factor (1 + s);
* face_slim s: the lower-face (jaw) width shrinks by `MAX_SLIM * s`;
* nose_narrow s: the nose wings move `MAX_NOSE_NARROW * s` of their distance to the midline;
* nose_lengthen s: the nose (168 between the eyes to 2 below the tip) grows by
  `MAX_NOSE_LENGTHEN * s`; the mouth moves down with it and the lower face takes
  up the difference, so the eyes, chin and jaw outline stay where they are;
* chin s: the chin moves down `MAX_CHIN * s` of the face height;
* smooth_skin s: blend weight of an edge-preserving filter inside the skin mask;
* brighten s: a tone lift on the skin that keeps black and white fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from . import geometry as g
from .warp import PointMoves, remap_region

EYE_BAND = 1.35
MAX_SLIM = 0.12
MAX_NOSE_NARROW = 0.25
# The applied stretch of 168->2 at s = 1. The face mesh re-run on the output (an
# independent judge, but one with a strong prior towards average proportions) reports
# only 40-65% of it, so the limit is set where the re-measured growth clears 8% on
# small, neutral faces too. 168->2 re-measured by the mesh at s = 0.5 / 1.0 (photos
# downscaled to <= 900 px as in the tests; tests/integration/effects/test_beauty_real.py):
#                        before (tip-only, MAX 0.12)   after (whole nose, 0.24)
#   obama.jpg            +1.5% / +2.6%                 +9.5% / +15.5%
#   deepface img12.jpg   +0.3% / +1.0%                 +5.7% / +9.5%
#   deepface img14.jpg   +0.7% / +1.0%                 +5.2% / +9.8%
# Before, only the tip points moved (landmark 2 by 0.7 x 12% of 168->1, ~7% of 168->2
# under the warp itself) while the pinned nostrils, wings and upper lip held the nose
# base still: the tip drooped away from the nostrils, and the mesh, which places 2
# from the nostrils and the lip, saw almost no change.
MAX_NOSE_LENGTHEN = 0.24
MAX_CHIN = 0.07

WARP_PARAMS = ("eye_enlarge", "face_slim", "nose_narrow", "nose_lengthen", "chin")
TONE_PARAMS = ("smooth_skin", "brighten")
BEAUTY_PARAMS = TONE_PARAMS + WARP_PARAMS

# How much of the slimming each jaw point gets: none at the cheekbones, full along the
# jaw where its width is measured, tapering towards the chin so it stays round.
_JAW_TAPER = (0.25, 0.55, 0.85, 1.0, 1.0, 1.0, 1.0, 0.8, 0.55, 0.35)
_CHIN_TAPER = {152: 1.0, 148: 0.9, 377: 0.9, 176: 0.75, 400: 0.75, 149: 0.55, 378: 0.55, 150: 0.3, 379: 0.3, 136: 0.1, 365: 0.1}
# Features held still while something else moves (so e.g. slimming never drags the mouth).
_PINNED = (
    g.RIGHT_BROW + g.LEFT_BROW + g.LIPS_OUTER + g.NOSE_BRIDGE + (g.FOREHEAD, 109, 338, 67, 297, 151, 9, 8)
    + g.RIGHT_EYE + g.LEFT_EYE + g.NOSE_TIP + g.NOSE_RIGHT_WING + g.NOSE_LEFT_WING
    + g.FACE_OVAL + (13, 14, 78, 308)
)
# Everything of the mouth that moves rigidly when the nose lengthens, and the philtrum
# between nose and lip, which is compressed instead.
_MOUTH = g.LIPS_OUTER + g.LIPS_INNER
_PHILTRUM = (164, 167, 393)
_WINGS = frozenset(g.NOSE_RIGHT_WING + g.NOSE_LEFT_WING)


def _axes(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(up, right, a point on the midline): the face's own axes, so warps follow roll."""
    up = p[g.FOREHEAD] - p[g.CHIN_TIP]
    up = up / max(np.linalg.norm(up), 1e-6)
    right = np.array([-up[1], up[0]])  # up turned 90 degrees: image-right for an upright face
    if np.dot(right, p[263] - p[33]) < 0:
        right = -right
    mid = (p[168] + p[2] + p[g.CHIN_TIP]) / 3.0
    return up, right, mid


def warp_moves(mesh: np.ndarray, params: dict[str, float]) -> tuple[PointMoves, float]:
    """The point moves for one face, and the kernel radius in pixels."""
    p = g.xy(mesh).astype(np.float64)
    span = g.eye_span(p)
    up, right, mid = _axes(p)
    disp: dict[int, np.ndarray] = {}
    # Extra points that carry a mesh point's move outwards: the visible edge (lashes,
    # the jawline's shading) lies a little outside the mesh contour, and moving a
    # band rather than a line moves that edge too instead of squeezing it.
    # Each is (point, displacement) or (point, mesh index): the latter follows that
    # point's total move, so effects that move the same point (slim + chin) stay rigid.
    band: list[tuple[np.ndarray, np.ndarray | int]] = []

    def add(idx: int, d: np.ndarray) -> None:
        disp[idx] = disp.get(idx, np.zeros(2)) + d

    s = params.get("eye_enlarge", 0.0)
    if s > 0:
        k = np.sqrt(1.0 + s)
        for contour, iris in ((g.RIGHT_EYE, g.RIGHT_IRIS), (g.LEFT_EYE, g.LEFT_IRIS)):
            c = p[list(contour)].mean(axis=0)
            for i in contour + iris:
                add(i, (k - 1.0) * (p[i] - c))
            nose_dir = p[168] - c
            for i in contour[::2]:
                # the band eases the magnification out (no ring of compression) and
                # skips the side facing the nose, where both eyes' bands would collide
                if np.dot(p[i] - c, nose_dir) > 0.3 * np.linalg.norm(p[i] - c) * np.linalg.norm(nose_dir):
                    continue
                q = c + EYE_BAND * (p[i] - c)
                band.append((q, 0.7 * (k - 1.0) * (q - c)))
    s = params.get("face_slim", 0.0)
    if s > 0:
        for side in (g.JAW_RIGHT, g.JAW_LEFT):
            for i, taper in zip(side, _JAW_TAPER):
                off = np.dot(p[i] - mid, right)
                d = -MAX_SLIM * s * taper * off * right
                add(i, d)
                if taper >= 0.5:
                    band.append((p[i] + np.sign(off) * 0.12 * span * right, i))
    s = params.get("nose_narrow", 0.0)
    if s > 0:
        # The rest of the lower nose follows the wings by its own offset (fading out up
        # the bridge): nostrils held still next to moving wings fold against them once
        # lengthening moves both.
        for i, t in _nose_depth(p, up).items():
            w = 1.0 if i in _WINGS else float(np.clip((t - 0.45) / 0.3, 0.0, 1.0))
            if w > 0:
                off = np.dot(p[i] - p[g.NOSE_TIP_POINT], right)
                add(i, -MAX_NOSE_NARROW * s * w * off * right)
    s = params.get("nose_lengthen", 0.0)
    if s > 0:
        for i, d in _nose_lengthen_moves(p, up, MAX_NOSE_LENGTHEN * s).items():
            add(i, d)
    s = params.get("chin", 0.0)
    if s > 0:
        height = float(np.linalg.norm(p[g.FOREHEAD] - p[g.CHIN_TIP]))
        for i, w in _CHIN_TAPER.items():
            add(i, -MAX_CHIN * s * w * height * up)

    moves = PointMoves()
    if disp:
        idx = np.array(sorted(disp))
        moves.move(p[idx], p[idx] + np.array([disp[i] for i in idx]))
        moved = p[idx]
        shift = np.linalg.norm(np.array([disp[i] for i in idx]), axis=1)
        if band:
            bp = np.array([b[0] for b in band])
            bd = np.array([disp[b[1]] if isinstance(b[1], int) else b[1] for b in band])
            moves.move(bp, bp + bd)
            moved = np.vstack([moved, bp])
            shift = np.concatenate([shift, np.linalg.norm(bd, axis=1)])
        pins = np.array(sorted(set(_PINNED) - set(disp)))
        # A pin close to a moved point demands a steep gradient between them, and a
        # gradient near 1 folds the image: keep pins at least 3x the move away.
        dist = np.linalg.norm(p[pins][:, None, :] - moved[None, :, :], axis=2)
        keep = np.all(dist > np.maximum(0.08 * span, 3.0 * shift)[None, :], axis=1)
        moves.pin(p[pins[keep]])
    return moves, 0.45 * span


def _nose_depth(p: np.ndarray, up: np.ndarray) -> dict[int, float]:
    """How far down the nose each nose point sits: 0 at 168 (between the eyes), 1 at 2."""
    depth = max(float(np.dot(p[168] - p[2], up)), 1e-6)
    return {i: float(np.clip(np.dot(p[168] - p[i], up) / depth, 0.0, 1.0)) for i in g.NOSE}


def _nose_lengthen_moves(p: np.ndarray, up: np.ndarray, stretch: float) -> dict[int, np.ndarray]:
    """Moves that stretch 168->2 by `stretch` (a fraction) along the face axis.

    The whole nose stretches uniformly (each point moves in proportion to its depth
    below 168), so the tip, columella, nostrils and wings move together and the
    nose keeps its shape: moving the tip alone against still nostrils reads as a
    droop, and the mesh does not see a longer nose in it. The room comes from below,
    where the chin and jaw outline stay pinned: the mouth moves down rigidly (it
    keeps its shape) and the philtrum above it and the chin region below it are
    squeezed by the same factor, so no one band of skin takes the whole change.
    """
    depth = float(np.dot(p[168] - p[2], up))  # 168 -> 2 along the face axis
    below = max(float(np.dot(p[2] - p[g.CHIN_TIP], up)), 1e-6)  # 2 -> chin
    move = -stretch * depth * up  # what landmark 2 gets
    out = {i: t * move for i, t in _nose_depth(p, up).items()}

    # The philtrum (2 -> lip top, 0) and the chin region (lip bottom, 17 -> chin) keep
    # the same fraction k of their height: (1 - k) * (above + under) = |move|, and the
    # mouth, resting on the chin region, moves by (1 - k) * under.
    above = float(np.clip(np.dot(p[2] - p[0], up), 0.0, below))
    under = float(np.clip(np.dot(p[17] - p[g.CHIN_TIP], up), 0.0, below))
    mouth = under / max(above + under, 1e-6) * move
    for i in _MOUTH:
        out[i] = mouth
    for i in _PHILTRUM:  # between 2 and the lip: in proportion to the way down
        u = float(np.clip(np.dot(p[2] - p[i], up) / max(above, 1e-6), 0.0, 1.0))
        out[i] = (1.0 - u) * move + u * mouth
    return out


def warp_face(image: np.ndarray, mesh: np.ndarray, params: dict[str, float], out: np.ndarray | None = None):
    moves, radius = warp_moves(mesh, params)
    return remap_region(image, moves, radius, step=max(2, int(radius / 10)), out=out)


def _roi(mask_pts: np.ndarray, shape: tuple[int, ...], pad: float) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    lo = np.floor(mask_pts.min(axis=0) - pad).astype(int)
    hi = np.ceil(mask_pts.max(axis=0) + pad).astype(int)
    return max(0, lo[0]), max(0, lo[1]), min(w, hi[0]), min(h, hi[1])


# Masks and the smoothing base are computed with the face scaled to this eye span:
# they are smooth at that scale, and it keeps a close-up selfie as cheap as a far face.
WORK_SPAN = 64.0


def tone_face(image: np.ndarray, mesh: np.ndarray, smooth: float, brighten: float, out: np.ndarray) -> np.ndarray:
    """Skin smoothing and brightening inside the feathered skin mask of one face.

    Smoothing is a guided filter (edge-preserving, linear time) computed at a
    fixed face scale, with a little of the original's fine texture added back:
    pores removed entirely read as plastic. Only the final blend runs at full
    resolution.
    """
    if smooth <= 0 and brighten <= 0:
        return out
    p = g.xy(mesh)
    span = g.eye_span(p)
    x0, y0, x1, y1 = _roi(p[list(g.FACE_OVAL)], image.shape, 0.1 * span)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return out
    roi = out[y0:y1, x0:x1]
    rh, rw = roi.shape[:2]
    s = min(1.0, WORK_SPAN / max(span, 1.0))
    sw, sh = max(8, int(round(rw * s))), max(8, int(round(rh * s)))
    local = (p - np.array([x0, y0], np.float32)) * np.array([sw / rw, sh / rh], np.float32)
    m = cv2.resize(g.skin_mask((sh, sw), local), (rw, rh), interpolation=cv2.INTER_LINEAR)
    result = roi
    if smooth > 0:
        small = cv2.resize(roi, (sw, sh), interpolation=cv2.INTER_AREA)
        r = max(2, int(round(0.09 * span * s)))
        base = cv2.resize(cv2.ximgproc.guidedFilter(small, small, r, (0.06 * 255) ** 2), (rw, rh), interpolation=cv2.INTER_LINEAR)
        f = roi.astype(np.float32)
        smoothed = base.astype(np.float32) + 0.3 * (f - cv2.GaussianBlur(f, (0, 0), 1.0))
        w = (0.9 * min(1.0, smooth)) * m
        result = np.clip(f + w[..., None] * (smoothed - f) + 0.5, 0, 255).astype(np.uint8)
    if brighten > 0:
        lift = 0.35 * min(1.0, brighten)
        x = np.arange(256, dtype=np.float32) / 255.0
        lut = np.clip((x + lift * x * (1.0 - x) * 1.6) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        lifted = cv2.LUT(result, lut)
        result = cv2.blendLinear(lifted, np.ascontiguousarray(result), m, 1.0 - m)
    out[y0:y1, x0:x1] = result
    return out


@dataclass
class Beauty:
    """All face beautification controls for every face in the frame."""

    params: dict[str, float] = field(default_factory=dict)
    name: str = "beauty"
    needs: tuple[str, ...] = ("face_mesh",)

    def __post_init__(self) -> None:
        from .errors import EffectConfigError

        clean = {}
        for k, v in self.params.items():
            if k not in BEAUTY_PARAMS:
                raise EffectConfigError(f"unknown beauty parameter {k!r}; known: {', '.join(BEAUTY_PARAMS)}")
            v = float(v)
            if not 0.0 <= v <= 1.0:
                raise EffectConfigError(f"{k} must be within 0..1, got {v}")
            clean[k] = v
        self.params = clean

    @property
    def active(self) -> bool:
        return any(v > 0 for v in self.params.values())

    def apply(self, frame: np.ndarray, ctx) -> np.ndarray:
        if not self.active or not ctx.meshes:
            return frame
        out = frame.copy()
        for mesh in ctx.meshes:
            tone_face(frame, mesh, self.params.get("smooth_skin", 0.0), self.params.get("brighten", 0.0), out)
        if any(self.params.get(k, 0) > 0 for k in WARP_PARAMS):
            for mesh in ctx.meshes:
                # in place is safe: remap builds the whole warped rectangle before it is written back
                warp_face(out, mesh, self.params, out=out)
        return out
