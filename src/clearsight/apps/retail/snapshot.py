"""Face-blurred pictures for retail events.

The blur is the redaction app's (`vision.redaction`: a 4x4 area downscale
smoothed back up, boxes grown by a margin, small faces by more). Faces are found with
CenterFace at a low threshold, as redaction does: a false positive blurs a patch
of shelf, a miss would store a face.
"""

from __future__ import annotations

import numpy as np

from ...vision.redaction import redact_regions


class FaceBlur:
    def __init__(self, detector: str = "centerface", min_score: float = 0.3, margin: float = 0.25) -> None:
        from ...vision.face_detection import create_detector

        self._det = create_detector(detector, min_score=min_score)
        self.margin = margin

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return redact_regions(rgb, [f.box for f in self._det.detect(rgb)], "blur", self.margin)


def blurred_crop(rgb: np.ndarray, polygon: np.ndarray, blur: FaceBlur, pad: int = 16) -> np.ndarray:
    """The bounding rectangle of `polygon` (plus `pad`), faces blurred on the whole frame first
    (a face cut in half by the crop edge is still found)."""
    h, w = rgb.shape[:2]
    x1, y1 = np.floor(polygon.min(axis=0)).astype(int) - pad
    x2, y2 = np.ceil(polygon.max(axis=0)).astype(int) + pad
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    return np.ascontiguousarray(blur(rgb)[y1:y2, x1:x2])
