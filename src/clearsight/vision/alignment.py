"""Similarity-transform alignment of a face onto the canonical template an embedder
was trained with.

An embedder only works on faces placed where its training crops placed them; a
similarity transform (rotation, uniform scale, translation) fitted by least squares
from detected landmarks to the template's points removes in-plane rotation and
scale without distorting the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AlignmentTemplate:
    name: str
    size: int
    points: np.ndarray  # (K, 2) destination points in chip pixels
    point_kind: str  # which landmark set the points correspond to ("dlib5", "five")


# dlib's `get_face_chip(size=150, padding=0.25)` template for its 5-point model, in
# dlib's point order (image-right eye outer/inner corner, image-left eye outer/inner,
# nose base). Derived by scripts/derive_dlib_chip_template.py from dlib's own chips.
DLIB_RESNET_150 = AlignmentTemplate(
    name="dlib-150-pad0.25",
    size=150,
    points=np.array(
        [[110.963, 46.946], [90.046, 47.48], [37.126, 46.895], [58.257, 47.537], [74.159, 87.905]], dtype=np.float64
    ),
    point_kind="dlib5",
)

# The InsightFace/ArcFace 112x112 template (eye centres, nose tip, mouth corners),
# the de-facto standard for ONNX face embedders.
ARCFACE_112 = AlignmentTemplate(
    name="arcface-112",
    size=112,
    points=np.array(
        [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
        dtype=np.float64,
    ),
    point_kind="five",
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama 1991) mapping src points onto dst; a 2x3 matrix."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s0, d0 = src - mu_s, dst - mu_d
    var_s = (s0**2).sum() / len(src)
    if var_s < 1e-12:
        raise ValueError("landmarks are degenerate (all at one point)")
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0
    rot = u @ np.diag(d) @ vt
    scale = float((sig * d).sum() / var_s)
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def warp_chip(rgb: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Cut the aligned chip; pixels outside the image are black, as in dlib's chips."""
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def align(rgb: np.ndarray, points: np.ndarray, template: AlignmentTemplate) -> np.ndarray:
    if len(points) != len(template.points):
        raise ValueError(f"template {template.name} needs {len(template.points)} points, got {len(points)}")
    return warp_chip(rgb, similarity_transform(points, template.points), template.size)
