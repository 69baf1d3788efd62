"""The document in a photograph: its four corners, and the page flattened to a rectangle.

Why: a phone photo of an ID card is seen at an angle, on a table, under a lamp.
Face detection copes with that, but the MRZ reader wants straight, evenly sized
lines, and the portrait should be compared upright. The page is the largest convex
quadrilateral in the edge map covering a fair share of the photo; it is warped to
the aspect its sides measure. When no such outline is found (a tight crop, a
scanner image, a busy background), the photo is used as it is and the result
says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# ISO/IEC 7810 sizes (mm): ID-1 cards (TD1), ID-3 passport data pages (TD3)
ID1_ASPECT = 85.60 / 53.98
ID3_ASPECT = 125.0 / 88.0


@dataclass(frozen=True)
class Page:
    image: np.ndarray  # the flattened page (or the photo as given), RGB
    quad: np.ndarray | None  # 4x2 corners in the photo (tl, tr, br, bl), None if not found
    rotation: int = 0  # degrees the page was turned (clockwise) to stand upright

    @property
    def found(self) -> bool:
        return self.quad is not None


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Top-left, top-right, bottom-right, bottom-left."""
    p = np.asarray(pts, np.float32).reshape(4, 2)
    s, d = p.sum(1), np.diff(p, axis=1).ravel()
    return np.array([p[np.argmin(s)], p[np.argmin(d)], p[np.argmax(s)], p[np.argmax(d)]], np.float32)


def find_quad(rgb: np.ndarray, min_share: float = 0.15) -> np.ndarray | None:
    """The page outline: the largest convex 4-gon covering at least `min_share` of the photo."""
    h, w = rgb.shape[:2]
    scale = 800.0 / max(h, w)
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0)
    area_min = min_share * small.shape[0] * small.shape[1]
    best, best_area = None, 0.0
    for lo, hi in ((30, 90), (60, 160)):
        edges = cv2.dilate(cv2.Canny(gray, lo, hi), np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for c in contours:
            hull = cv2.convexHull(c)
            a = cv2.contourArea(hull)
            if a < area_min or a <= best_area:
                continue
            approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
            if len(approx) == 4 and cv2.isContourConvex(approx):
                best, best_area = approx, a
        if best is not None:
            break
    if best is None:
        return None
    quad = order_corners(best.reshape(4, 2) / scale)
    # a quad hugging the photo's border is the photo itself, not a page on a background
    if np.all((quad[:, 0] < 0.01 * w) | (quad[:, 0] > 0.99 * w) | (quad[:, 1] < 0.01 * h) | (quad[:, 1] > 0.99 * h)):
        return None
    return quad


def flatten(rgb: np.ndarray, quad: np.ndarray, long_side: int = 1100) -> np.ndarray:
    """The quadrilateral warped to an upright rectangle of the aspect its sides measure."""
    q = order_corners(quad)
    wd = (np.linalg.norm(q[0] - q[1]) + np.linalg.norm(q[3] - q[2])) / 2
    ht = (np.linalg.norm(q[0] - q[3]) + np.linalg.norm(q[1] - q[2])) / 2
    if wd >= ht:
        w, h = long_side, max(2, round(long_side * ht / max(wd, 1)))
    else:
        w, h = max(2, round(long_side * wd / max(ht, 1))), long_side
    dst = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    m = cv2.getPerspectiveTransform(q, dst)
    return cv2.warpPerspective(rgb, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def find_page(rgb: np.ndarray) -> Page:
    quad = find_quad(rgb)
    if quad is None:
        return Page(rgb, None)
    return Page(flatten(rgb, quad), quad)


def rotate(rgb: np.ndarray, degrees: int) -> np.ndarray:
    """Turn by a multiple of 90 degrees, clockwise."""
    k = (degrees // 90) % 4
    if k == 0:
        return rgb
    return np.ascontiguousarray(cv2.rotate(rgb, (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180,
                                                 cv2.ROTATE_90_COUNTERCLOCKWISE)[k - 1]))
