"""Annotated images for people to look at: boxes, landmarks, labels."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..types import Face

_GREEN = (46, 204, 113)
_ORANGE = (255, 159, 67)


def draw_faces(rgb: np.ndarray, faces: Sequence[Face], labels: Sequence[str] | None = None) -> np.ndarray:
    out = np.ascontiguousarray(rgb.copy())
    thick = max(1, int(round(max(out.shape[:2]) / 500)))
    for i, face in enumerate(faces):
        x1, y1, x2, y2 = (int(round(v)) for v in face.box.as_xyxy())
        cv2.rectangle(out, (x1, y1), (x2, y2), _GREEN, thick)
        for x, y in face.landmarks.xy():
            cv2.circle(out, (int(round(x)), int(round(y))), thick + 1, _ORANGE, -1)
        if face.mesh is not None:
            for x, y in face.mesh.xy()[::3]:
                cv2.circle(out, (int(round(x)), int(round(y))), max(1, thick // 2), (200, 200, 255), -1)
        text = labels[i] if labels is not None else f"{face.score:.2f}"
        cv2.putText(out, text, (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick + 0.1, _GREEN, thick)
    return out
