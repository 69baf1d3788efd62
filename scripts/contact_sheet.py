"""Before/after contact sheet of the effects on real photos -> docs/effects_contact_sheet.jpg.

Rows are real faces (and a real street frame for body reshaping); columns are the
original and a few presets. Every cell is produced by the public API
(`clearsight.apps.effects.pipeline.build(...).apply`), exactly as a user would.

    .venv/bin/python scripts/contact_sheet.py [--out docs/effects_contact_sheet.jpg]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
DATA = Path(os.environ.get("CLEARSIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))

FACES = (
    "faces/face_recognition_examples/examples/obama-720p.jpg",
    "faces/deepface_pairs/couple.jpg",
    "faces/deepface_pairs/img14.jpg",
)
COLUMNS = (
    ("original", "none", {}),
    ("natural (skin 0.5, brighten 0.2)", "natural", {}),
    ("glam (eyes, slim, nose, chin, skin)", "glam", {}),
    ("cartoon (eyes 0.9, nose 0.8, ears)", "cartoon", {}),
    ("party (animated glasses, hat)", "party", {}),
    ("mask + background blur", "none", {"stickers": "face_mask", "background": "blur", "background_strength": 1.0}),
)
BODY = "tracking/pedestrians/tud_campus/frames/000001.jpg"
BODY_COLUMNS = (("original", {}), ("waist/legs/arms -0.8 (slimmer)", {"waist": -0.8, "legs": -0.8, "arms": -0.8}),
                ("waist/legs/arms +0.8 (fuller)", {"waist": 0.8, "legs": 0.8, "arms": 0.8}))
CELL_H = 250


def crop_box(rgb: np.ndarray, meshes: list[np.ndarray]) -> tuple[int, int, int, int]:
    """Around all faces, with room above the head for hats and ears."""
    h, w = rgb.shape[:2]
    pts = np.concatenate([m[:, :2] for m in meshes])
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    fw, fh = x1 - x0, y1 - y0
    x0, x1 = x0 - 0.55 * fw, x1 + 0.55 * fw
    y0, y1 = y0 - 1.5 * fh, y1 + 0.35 * fh
    return max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))


def label(cell: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((24, cell.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (30, 30, 30), 1, cv2.LINE_AA)
    return np.vstack([bar, cell])


def fit_h(rgb: np.ndarray, h: int) -> np.ndarray:
    s = h / rgb.shape[0]
    return cv2.resize(rgb, (max(1, int(rgb.shape[1] * s)), h), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)


def row(cells: list[np.ndarray]) -> np.ndarray:
    sep = np.full((cells[0].shape[0], 6, 3), 255, np.uint8)
    out = [cells[0]]
    for c in cells[1:]:
        out += [sep, c]
    return np.hstack(out)


def main() -> None:
    from clearsight.apps.effects.pipeline import build
    from clearsight.io import load_image
    from clearsight.vision.landmarks import FaceMesh

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "effects_contact_sheet.jpg")
    args = ap.parse_args()
    mesh = FaceMesh(max_faces=4, static=True)
    rows = []
    for rel in FACES:
        rgb = load_image(DATA / rel)
        s = min(1.0, 1280 / max(rgb.shape[:2]))
        rgb = np.ascontiguousarray(cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)) if s < 1 else rgb
        x0, y0, x1, y1 = crop_box(rgb, [m.points for m in mesh.process(rgb)])
        cells = []
        for title, preset, params in COLUMNS:
            fx = build(preset, params, video=False)
            out = fx.apply(rgb, t=0.45)  # mid-animation: the glasses' glint is visible
            fx.close()
            cells.append(label(fit_h(out[y0:y1, x0:x1], CELL_H), title if rel == FACES[0] else ""))
        rows.append(row(cells))
    street = load_image(DATA / BODY)
    body_cells = []
    for title, params in BODY_COLUMNS:
        fx = build("none", params, video=False)
        out = fx.apply(street, t=0.0)
        fx.close()
        body_cells.append(label(fit_h(out[90:480, 250:560], CELL_H), title))
    rows.append(row(body_cells))
    width = max(r.shape[1] for r in rows)
    sheet = np.vstack([np.hstack([r, np.full((r.shape[0], width - r.shape[1], 3), 255, np.uint8)]) for r in rows])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for q in (85, 75, 65, 55):
        ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q])
        if len(jpg) < 480_000:
            break
    args.out.write_bytes(jpg.tobytes())
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]}, {len(jpg) / 1000:.0f} kB)")


if __name__ == "__main__":
    main()
