"""Face-blurred pictures for retail events.

The blur is the redaction app's (a 4x4 area downscale smoothed back up, boxes
grown by a margin, small faces by more); the apps are independent, so it is
repeated here in a dozen lines rather than imported. Faces are found with
CenterFace at a low threshold, as redaction does: a false positive blurs a patch
of shelf, a miss would store a face.
"""

from __future__ import annotations

import cv2
import numpy as np

from ...types import BBox

SMALL_FACE_PX = 64


class FaceBlur:
    def __init__(self, detector: str = "centerface", min_score: float = 0.3, margin: float = 0.25) -> None:
        from ...vision.face_detection import create_detector

        self._det = create_detector(detector, min_score=min_score)
        self.margin = margin

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        out = np.ascontiguousarray(rgb.copy())
        h, w = out.shape[:2]
        for f in self._det.detect(rgb):
            box: BBox = f.box
            m = self.margin + (1.0 if max(box.width, box.height) < SMALL_FACE_PX else 0.0)
            b = box.scaled(1.0 + m).clip(w, h)
            x1, y1, x2, y2 = int(b.x1), int(b.y1), int(np.ceil(b.x2)), int(np.ceil(b.y2))
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            roi = out[y1:y2, x1:x2]
            rh, rw = roi.shape[:2]
            smooth = cv2.resize(cv2.resize(roi, (4, 4), interpolation=cv2.INTER_AREA), (rw, rh), interpolation=cv2.INTER_LINEAR)
            k = max(3, (min(rw, rh) // 4) | 1)
            out[y1:y2, x1:x2] = cv2.GaussianBlur(smooth, (k, k), 0)
        return out


def blurred_crop(rgb: np.ndarray, polygon: np.ndarray, blur: FaceBlur, pad: int = 16) -> np.ndarray:
    """The bounding rectangle of `polygon` (plus `pad`), faces blurred on the whole frame first
    (a face cut in half by the crop edge is still found)."""
    h, w = rgb.shape[:2]
    x1, y1 = np.floor(polygon.min(axis=0)).astype(int) - pad
    x2, y2 = np.ceil(polygon.max(axis=0)).astype(int) + pad
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    return np.ascontiguousarray(blur(rgb)[y1:y2, x1:x2])
