"""Derive where dlib's `get_face_chip(size=150, padding=0.25)` puts the 5-point
landmarks, so `clearsight.vision.alignment` can reproduce dlib's alignment with a
plain similarity transform (and any embedder can declare its template the same way).

Method: an image whose red/green channels encode each pixel's own x/y is cut with
dlib's chip for a real face's landmarks; a least-squares affine fit from chip pixels
to the encoded coordinates recovers dlib's exact mapping, which then carries the
landmarks into chip coordinates. Averaged over many LFW faces.
Usage: python scripts/derive_dlib_chip_template.py ../shared/data/faces/lfw_gray
"""

import sys
from pathlib import Path

import dlib
import numpy as np

from clearsight.io import load_image
from clearsight.models import resolve

root = Path(sys.argv[1])
det = dlib.get_frontal_face_detector()
sp = dlib.shape_predictor(str(resolve("dlib-shape-predictor-5")))
coords = np.zeros((250, 250, 3), np.uint8)
coords[..., 0] = np.arange(250)[None, :]
coords[..., 1] = np.arange(250)[:, None]
grid_r, grid_c = np.mgrid[0:150, 0:150]
A = np.stack([grid_c.ravel(), grid_r.ravel(), np.ones(150 * 150)], 1)
acc = []
for path in sorted(root.glob("images/*/*_0001.jpg"))[:200]:
    img = load_image(path)
    rects = det(img, 1)
    if len(rects) != 1:
        continue
    shape = sp(img, rects[0])
    chip = dlib.get_face_chip(coords, shape, size=150, padding=0.25).astype(np.float64)
    ok = (chip[..., 0].ravel() > 2) & (chip[..., 0].ravel() < 247) & (chip[..., 1].ravel() > 2) & (chip[..., 1].ravel() < 247)
    if ok.sum() < 5000:
        continue
    mx, *_ = np.linalg.lstsq(A[ok], chip[..., 0].ravel()[ok], rcond=None)
    my, *_ = np.linalg.lstsq(A[ok], chip[..., 1].ravel()[ok], rcond=None)
    M = np.array([mx, my, [0, 0, 1]])  # chip -> image
    Minv = np.linalg.inv(M)
    pts = np.array([[shape.part(i).x, shape.part(i).y, 1.0] for i in range(5)])
    acc.append((Minv @ pts.T).T[:, :2])
acc = np.array(acc)
print(f"{len(acc)} faces; template (chip px), std:")
print(np.round(acc.mean(0), 3).tolist())
print(np.round(acc.std(0), 3).tolist())
