"""Making regions of a picture unrecognisable: the one blur every face-free output uses.

Why in `vision`: redaction of video (`apps.redact`) and the face-free snapshots of
retail (`apps.retail`) must blur the same way, and apps cannot import each other.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..types import BBox

SMALL_FACE_PX = 64


def redact_regions(rgb: np.ndarray, boxes: Sequence[BBox], mode: str = "blur", margin: float = 0.25) -> np.ndarray:
    """A copy of `rgb` with every box (grown by `margin`) made unrecognisable.

    Small faces get a larger margin: a detector finds a small head from its outline
    and the body under it as much as from its features, so a blur limited to the
    face box leaves a head-shaped blob that still reads as a face. The blur is a
    4x4 area downscale smoothed back up: no feature survives it, whatever the size.
    """
    out = np.ascontiguousarray(rgb.copy())
    h, w = out.shape[:2]
    for box in boxes:
        m = margin + (1.0 if max(box.width, box.height) < SMALL_FACE_PX else 0.0)
        b = box.scaled(1.0 + m).clip(w, h)
        x1, y1, x2, y2 = int(b.x1), int(b.y1), int(np.ceil(b.x2)), int(np.ceil(b.y2))
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        roi = out[y1:y2, x1:x2]
        rh, rw = roi.shape[:2]
        if mode == "pixelate":
            cells = max(3, min(8, min(rw, rh) // 12))
            small = cv2.resize(roi, (cells, cells), interpolation=cv2.INTER_AREA)
            out[y1:y2, x1:x2] = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_NEAREST)
        elif mode == "fill":
            out[y1:y2, x1:x2] = roi.reshape(-1, 3).mean(axis=0).astype(np.uint8)
        else:
            small = cv2.resize(roi, (4, 4), interpolation=cv2.INTER_AREA)
            smooth = cv2.resize(small, (rw, rh), interpolation=cv2.INTER_LINEAR)
            k = max(3, (min(rw, rh) // 4) | 1)
            out[y1:y2, x1:x2] = cv2.GaussianBlur(smooth, (k, k), 0)
    return out


__all__ = ["SMALL_FACE_PX", "redact_regions"]
