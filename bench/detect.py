"""Face detection: faces found vs. known counts on group photos, and ms per frame, per backend,
with the `face_recognition` package's own `face_locations` (HOG, upsample 1) in the same run.

Known counts were made by eye on each photo (no box annotations exist for them):
selfie-many-people.jpg shows 7 faces (one cut by the left edge), couple.jpg 2,
two_people.jpg 2, obama_and_biden.jpg 3 (a child in the lower right corner).

    .venv/bin/python bench/detect.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, require_data, table  # noqa: E402

from clearsight.io import load_image  # noqa: E402
from clearsight.vision.face_detection import available_detectors, create_detector  # noqa: E402

PHOTOS = {
    ("faces", "deepface_pairs", "selfie-many-people.jpg"): 7,
    ("faces", "deepface_pairs", "couple.jpg"): 2,
    ("faces", "face_recognition_examples", "examples", "two_people.jpg"): 2,
    ("faces", "face_recognition_examples", "examples", "knn_examples", "test", "obama_and_biden.jpg"): 3,
}


def peer_detector():
    try:
        import face_recognition
    except ImportError:
        return None
    return lambda rgb: face_recognition.face_locations(rgb)  # HOG, upsample 1: its defaults


def timed(fn, img, repeats: int) -> float:
    fn(img)  # warm-up (model load, graph init)
    t = time.perf_counter()
    for _ in range(repeats):
        fn(img)
    return (time.perf_counter() - t) / repeats * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    require_data("faces")

    backends = {name: create_detector(name).detect for name in available_detectors()}
    peer = peer_detector()
    if peer is not None:
        backends["face_recognition.face_locations (peer)"] = peer

    rows = []
    for parts, known in PHOTOS.items():
        img = load_image(DATA.joinpath(*parts))
        rows.append([parts[-1], f"{img.shape[1]}x{img.shape[0]}", known, *[len(fn(img)) for fn in backends.values()]])
    table(["photo", "size", "known faces", *backends], rows, "Faces found vs. known count")

    base = load_image(DATA.joinpath("faces", "deepface_pairs", "couple.jpg"))
    speed = []
    for name, fn in backends.items():
        row = [name]
        for w, h in ((640, 480), (1920, 1080)):
            img = np.ascontiguousarray(cv2.resize(base, (w, h), interpolation=cv2.INTER_AREA))
            repeats = args.repeats if "hog" not in name and "peer" not in name else max(3, args.repeats // 4)
            row.append(timed(fn, img, repeats))
        speed.append(row)
    table(["backend", "ms/frame 640x480", "ms/frame 1920x1080"], speed, "Detection speed (couple.jpg resized; 2 cores)")


if __name__ == "__main__":
    main()
