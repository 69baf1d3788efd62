"""Smooth local image warps from point moves (radial-basis-function interpolation).

Every reshaping effect is expressed the same way: "this mesh point should end up
there", plus points that must not move. One interpolating field through all of
them gives one smooth deformation per face, so effects combine without seams and
nothing outside the region they name can move: the kernel has compact support,
and the frame outside the warped rectangle is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


def _wendland(r: np.ndarray) -> np.ndarray:
    """Wendland's C2 kernel: positive definite, smooth, exactly zero for r >= 1."""
    r = np.minimum(r, 1.0)
    return (1.0 - r) ** 4 * (4.0 * r + 1.0)


@dataclass
class PointMoves:
    """Destination points, their displacements, and a kernel radius (pixels)."""

    src: list[np.ndarray] = field(default_factory=list)
    dst: list[np.ndarray] = field(default_factory=list)

    def move(self, src: np.ndarray, dst: np.ndarray) -> None:
        self.src.append(np.asarray(src, np.float64).reshape(-1, 2))
        self.dst.append(np.asarray(dst, np.float64).reshape(-1, 2))

    def pin(self, pts: np.ndarray) -> None:
        p = np.asarray(pts, np.float64).reshape(-1, 2)
        self.move(p, p)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.src:
            return np.zeros((0, 2)), np.zeros((0, 2))
        return np.concatenate(self.src), np.concatenate(self.dst)

    @property
    def moving(self) -> bool:
        s, d = self.arrays()
        return bool(len(s)) and float(np.abs(s - d).max()) > 0.05


def _dedupe(dst: np.ndarray, src: np.ndarray, min_dist: float) -> tuple[np.ndarray, np.ndarray]:
    """Drop every control point within `min_dist` of an earlier one (moves are listed
    before pins, so moves win): near-duplicates make the interpolation system
    ill-conditioned and fold the image."""
    from scipy.spatial.distance import cdist

    close = np.triu(cdist(dst, dst) < min_dist, 1)
    keep = ~close.any(axis=0)
    return dst[keep], src[keep]


def inverse_field(moves: PointMoves, radius: float, min_dist: float = 1.5) -> tuple[np.ndarray, np.ndarray] | None:
    """(centres, weights) of the backward map dst -> src - dst, or None if nothing moves.

    Backward because remapping samples the source for every output pixel: fitting
    the field at the destinations makes each moved point land exactly where asked.
    Pins beyond two kernel radii of every moving point cannot influence the field
    and are dropped before solving.
    """
    from scipy.spatial.distance import cdist

    src, dst = moves.arrays()
    if not len(src):
        return None
    shift = np.abs(src - dst).max(axis=1)
    if float(shift.max()) < 0.05:
        return None
    moving = shift >= 0.05
    near = cdist(dst, dst[moving]).min(axis=1) <= 2.0 * radius
    dst, src = _dedupe(dst[near], src[near], min_dist)
    k = _wendland(cdist(dst, dst) / radius) + 1e-6 * np.eye(len(dst))
    # OpenCV's Cholesky, not numpy's: numpy hands even a 200x200 system to a threaded
    # BLAS whose workers spin against MediaPipe's threads (hundreds of ms on 2 cores).
    ok, weights = cv2.solve(k, src - dst, flags=cv2.DECOMP_CHOLESKY)
    if not ok:
        ok, weights = cv2.solve(k, src - dst, flags=cv2.DECOMP_SVD)
    return dst, weights


def remap_region(
    image: np.ndarray,
    moves: PointMoves,
    radius: float,
    step: int = 4,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """Warp `image` by the moves; returns (image, touched rectangle x0,y0,x1,y1 or None).

    The field is evaluated on a coarse grid (every `step` px) and upsampled
    bilinearly: the field is smooth at the kernel's scale, so this costs nothing
    visible and keeps a 720p face warp within a few milliseconds.
    """
    fit = inverse_field(moves, radius)
    dst_img = image.copy() if out is None else out
    if fit is None:
        return dst_img, None
    centres, weights = fit
    lo = centres.min(axis=0) - radius
    hi = centres.max(axis=0) + radius
    h, w = image.shape[:2]
    x0, y0 = max(0, int(np.floor(lo[0]))), max(0, int(np.floor(lo[1])))
    x1, y1 = min(w, int(np.ceil(hi[0])) + 1), min(h, int(np.ceil(hi[1])) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return dst_img, None
    # Grid sample k sits where cv2.resize(fx=step) puts it: pixel (k + 0.5) * step - 0.5.
    nx, ny = -(-(x1 - x0) // step), -(-(y1 - y0) // step)
    gx = x0 + (np.arange(nx) + 0.5) * step - 0.5
    gy = y0 + (np.arange(ny) + 0.5) * step - 0.5
    field_ = np.zeros((len(gy), len(gx), 2), np.float64)
    # Only centres whose support overlaps the grid contribute; loop over centres
    # (tens to a few hundred) rather than building a grid x centres tensor.
    for c, wgt in zip(centres, weights):
        ix = slice(max(0, int((c[0] - radius - x0) // step)), min(nx, int((c[0] + radius - x0) // step) + 2))
        iy = slice(max(0, int((c[1] - radius - y0) // step)), min(ny, int((c[1] + radius - y0) // step) + 2))
        if ix.start >= ix.stop or iy.start >= iy.stop:
            continue
        dx = (gx[ix] - c[0])[None, :]
        dy = (gy[iy] - c[1])[:, None]
        phi = _wendland(np.sqrt(dx * dx + dy * dy) / radius)
        field_[iy, ix, 0] += phi * wgt[0]
        field_[iy, ix, 1] += phi * wgt[1]
    fx = cv2.resize(field_[..., 0].astype(np.float32), None, fx=step, fy=step, interpolation=cv2.INTER_LINEAR)
    fy = cv2.resize(field_[..., 1].astype(np.float32), None, fx=step, fy=step, interpolation=cv2.INTER_LINEAR)
    fx, fy = fx[: y1 - y0, : x1 - x0], fy[: y1 - y0, : x1 - x0]
    xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
    map_x = xs + fx
    map_y = ys + fy
    dst_img[y0:y1, x0:x1] = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return dst_img, (x0, y0, x1, y1)
