"""Annotated images for people to look at: boxes, landmarks, labels."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..types import BBox, Face

Colour = tuple[int, int, int]

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


def line_thickness(rgb: np.ndarray, per_px: int = 600) -> int:
    """Strokes that stay visible on 4K frames and do not swamp thumbnails."""
    return max(1, round(max(rgb.shape[:2]) / per_px))


def draw_box(out: np.ndarray, box: BBox, colour: Colour, thick: int, text: str = "") -> None:
    """In place: a rectangle with a caption above it."""
    x1, y1, x2, y2 = (int(round(v)) for v in box.as_xyxy())
    cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick)
    if text:
        cv2.putText(out, text, (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)


def draw_polygon(out: np.ndarray, points: Sequence[tuple[float, float]] | np.ndarray, colour: Colour, thick: int,
                 text: str = "", *, closed: bool = True) -> None:
    """In place: a polygon (or an open path) with a caption at its first point."""
    pts = np.asarray(points, dtype=np.float64).round().astype(np.int32).reshape(-1, 1, 2)
    if len(pts) == 0:
        return
    cv2.polylines(out, [pts], closed, colour, thick)
    if text:
        x, y = pts[0, 0]
        cv2.putText(out, text, (int(x) + 3, int(y) + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)


def draw_text(out: np.ndarray, position: tuple[float, float], text: str, colour: Colour) -> None:
    cv2.putText(out, text, (int(position[0]), int(position[1])), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1)
