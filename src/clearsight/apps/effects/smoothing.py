"""Temporal smoothing of landmarks: the One Euro filter (Casiez, Roussel, Vogel, CHI 2012).

Landmark models are re-run on every frame and their answers wobble by a pixel or
two on a still face; drawn stickers and warps amplify that into visible jitter.
A fixed low-pass would lag on fast moves; the One Euro filter lowers its cut-off
when the signal is still and raises it with speed, trading jitter for lag only
when nothing moves.
"""

from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filters an array of any shape element-wise.

    min_cutoff (Hz): smoothing at rest (lower = steadier); beta: how fast the cut-off
    rises with speed (higher = less lag); d_cutoff: smoothing of the speed estimate.
    `scale` divides the speed so that beta is independent of face size in pixels.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.3, d_cutoff: float = 1.0) -> None:
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def reset(self) -> None:
        self._x = self._dx = None
        self._t = None

    def __call__(self, x: np.ndarray, t: float, scale: float = 1.0) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or self._x.shape != x.shape or t <= self._t:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self._t
        dx = (x - self._x) / dt
        a_d = _alpha(self.d_cutoff, dt)
        dx_hat = a_d * dx + (1 - a_d) * self._dx
        speed = np.abs(dx_hat) / max(scale, 1e-6)
        cutoff = self.min_cutoff + self.beta * speed
        a = _alpha(cutoff, dt)
        x_hat = a * x + (1 - a) * self._x
        self._x, self._dx, self._t = x_hat, dx_hat, t
        return x_hat.copy()


class LandmarkSmoother:
    """One filter per tracked face; faces are matched frame to frame by nearest centre.

    Speeds are normalised by the face's eye span (so a filter tuned on a close face
    behaves the same on a distant one). A face that disappears drops its filter.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 8.0, d_cutoff: float = 1.0) -> None:
        self.params = (min_cutoff, beta, d_cutoff)
        self._tracks: list[tuple[np.ndarray, OneEuroFilter]] = []

    def reset(self) -> None:
        self._tracks = []

    def __call__(self, meshes: list[np.ndarray], t: float) -> list[np.ndarray]:
        from .geometry import eye_span

        out: list[np.ndarray] = []
        free = list(range(len(self._tracks)))
        new_tracks: list[tuple[np.ndarray, OneEuroFilter]] = []
        for pts in meshes:
            c = pts[:, :2].mean(axis=0)
            span = max(eye_span(pts), 1.0)
            best, best_d = None, 0.5 * span * 4
            for i in free:
                d = float(np.linalg.norm(self._tracks[i][0] - c))
                if d < best_d:
                    best, best_d = i, d
            if best is None:
                filt = OneEuroFilter(*self.params)
            else:
                free.remove(best)
                filt = self._tracks[best][1]
            sm = filt(pts, t, scale=span)
            new_tracks.append((c, filt))
            out.append(sm.astype(np.float32))
        self._tracks = new_tracks
        return out
