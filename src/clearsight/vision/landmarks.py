"""Landmark models: dlib's 5-point predictor (the alignment points of dlib's ResNet)
and MediaPipe's 478-point mesh with iris.
"""

from __future__ import annotations


import numpy as np

from ..models import runtime
from ..types import BBox, Face, Landmarks

# In the ArcFace 5-point template the mouth line sits 1.155 interocular distances
# below the eye line; used where a model gives no mouth points.
_MOUTH_DROP = (92.3 - 51.6) / 35.24


def dlib_rect(box: BBox):
    import dlib

    return dlib.rectangle(int(round(box.x1)), int(round(box.y1)), int(round(box.x2)) - 1, int(round(box.y2)) - 1)


def dlib_shape5(rgb: np.ndarray, box: BBox) -> np.ndarray:
    """dlib's 5 points (two corners per eye, nose base) as a (5, 2) float array."""
    shape = runtime.dlib_shape_predictor("dlib-shape-predictor-5")(rgb, dlib_rect(box))
    return np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], dtype=np.float32)


def dlib5_to_five(pts: np.ndarray) -> np.ndarray:
    """Map dlib's eye corners + nose base to our order: eye centres, nose, mouth corners."""
    eye_a, eye_b = pts[0:2].mean(axis=0), pts[2:4].mean(axis=0)
    left, right = (eye_a, eye_b) if eye_a[0] <= eye_b[0] else (eye_b, eye_a)
    d = right - left
    down = np.array([-d[1], d[0]], dtype=np.float32)  # eye line turned 90 degrees towards the chin
    mouth = (left + right) / 2 + _MOUTH_DROP * down
    half = 0.414 * d
    return np.vstack([left, right, pts[4], mouth - half, mouth + half]).astype(np.float32)


def dlib_box_from_face(face: Face) -> BBox:
    """A box shaped like dlib's HOG boxes, from any detector's 5 landmarks.

    dlib's shape predictor was trained on HOG boxes (square, brow to chin). Boxes
    from other detectors differ in aspect and margin, which shifts the predicted
    points; rebuilding the box from the eyes and mouth makes the predictor see what
    it was trained on whatever detector ran.
    """
    p = face.landmarks.xy()
    eyes = (p[0] + p[1]) / 2
    mouth = (p[3] + p[4]) / 2
    iod = float(np.linalg.norm(p[1] - p[0]))
    em = float(np.linalg.norm(mouth - eyes))
    size = max(2.0 * iod, 1.9 * em, 8.0)
    cx, cy = (eyes + mouth) / 2
    cy = cy - 0.05 * size
    return BBox(cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)


class FaceMesh:
    """MediaPipe's 478-point face mesh with iris refinement.

    `static=True` runs detection on every image (photos); `static=False` tracks
    between video frames, several times faster. Points are pixels, z in the same
    scale as x (relative depth).
    """

    def __init__(self, max_faces: int = 4, static: bool = True, min_score: float = 0.5) -> None:
        import mediapipe as mp

        from ..models import resolve

        resolve("face-mesh-478")
        self._graph = runtime.MediaPipeGraph(
            lambda: mp.solutions.face_mesh.FaceMesh(
                static_image_mode=static,
                max_num_faces=max_faces,
                refine_landmarks=True,
                min_detection_confidence=min_score,
                min_tracking_confidence=min_score,
            )
        )

    def process(self, rgb: np.ndarray) -> list[Landmarks]:
        h, w = rgb.shape[:2]
        result = self._graph.process(rgb)
        meshes = []
        for lm in result.multi_face_landmarks or []:
            pts = np.array([[p.x * w, p.y * h, p.z * w] for p in lm.landmark], dtype=np.float32)
            meshes.append(Landmarks(pts, kind="mesh478"))
        return meshes

    def close(self) -> None:
        self._graph.close()
