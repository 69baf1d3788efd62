"""Draws the built-in sticker art procedurally (OpenCV primitives, 2x supersampled).

The project authors its own assets so their licence is the project's; running
`python -m clearsight.apps.effects.draw_assets` re-creates the PNGs in `assets/`
byte-for-byte from this file. Users add their own art with a manifest of the same
shape (see `stickers.load_manifest`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ASSETS = Path(__file__).with_name("assets")
SS = 2  # supersampling factor


def _canvas(w: int, h: int) -> np.ndarray:
    return np.zeros((h * SS, w * SS, 4), np.uint8)


def _finish(c: np.ndarray) -> np.ndarray:
    """Downsample with premultiplied alpha so edges do not get dark fringes."""
    f = c.astype(np.float32)
    a = f[..., 3:4] / 255.0
    pre = np.concatenate([f[..., :3] * a, f[..., 3:4]], axis=2)
    small = cv2.resize(pre, (c.shape[1] // SS, c.shape[0] // SS), interpolation=cv2.INTER_AREA)
    alpha = small[..., 3:4]
    rgb = np.where(alpha > 0, small[..., :3] / np.maximum(alpha / 255.0, 1e-6), 0)
    return np.clip(np.concatenate([rgb, alpha], axis=2) + 0.5, 0, 255).astype(np.uint8)


def _s(*v: float) -> tuple[int, ...]:
    return tuple(int(round(x * SS)) for x in v)


def _ellipse(c, centre, axes, angle, colour, thickness=-1):
    cv2.ellipse(c, _s(*centre), _s(*axes), angle, 0, 360, colour, thickness if thickness < 0 else thickness * SS, cv2.LINE_AA)


def bunny_ears() -> np.ndarray:
    c = _canvas(400, 320)
    outline, fur, pink = (70, 70, 80, 255), (245, 245, 250, 255), (240, 160, 185, 255)
    for cx, ang in ((130, -14), (270, 14)):
        _ellipse(c, (cx, 165), (52, 150), ang, outline)
        _ellipse(c, (cx, 165), (46, 144), ang, fur)
        _ellipse(c, (cx, 175), (24, 110), ang, pink)
    return _finish(c)


def top_hat() -> np.ndarray:
    c = _canvas(400, 300)
    black, band, edge = (25, 25, 30, 255), (200, 30, 45, 255), (70, 70, 80, 255)
    cv2.rectangle(c, _s(100, 20), _s(300, 240), black, -1, cv2.LINE_AA)
    _ellipse(c, (200, 20), (100, 16), 0, (45, 45, 52, 255))
    cv2.rectangle(c, _s(100, 190), _s(300, 230), band, -1, cv2.LINE_AA)
    _ellipse(c, (200, 250), (190, 38), 0, black)
    _ellipse(c, (200, 250), (190, 38), 0, edge, 2)
    cv2.rectangle(c, _s(100, 200), _s(300, 240), black, -1, cv2.LINE_AA)
    cv2.rectangle(c, _s(100, 190), _s(300, 225), band, -1, cv2.LINE_AA)
    return _finish(c)


def sunglasses(phase: float) -> np.ndarray:
    """One frame of the animated glasses: a light glint sweeps across the lenses."""
    w, h = 480, 170
    c = _canvas(w, h)
    frame_col, lens = (20, 20, 25, 255), (30, 40, 70, 235)
    for cx in (128, 352):
        cv2.rectangle(c, _s(cx - 100, 20), _s(cx + 100, 140), frame_col, -1, cv2.LINE_AA)
    lenses = _canvas(w, h)
    for cx in (128, 352):
        cv2.rectangle(lenses, _s(cx - 90, 30), _s(cx + 90, 130), lens, -1, cv2.LINE_AA)
    # glint: a slanted bright band whose position is the animation phase
    gx = -120 + phase * (w + 240)
    glint = np.zeros_like(lenses)
    pts = np.array([_s(gx, 0), _s(gx + 40, 0), _s(gx - 20, h), _s(gx - 60, h)], np.int32)
    cv2.fillPoly(glint, [pts], (255, 255, 255, 255), cv2.LINE_AA)
    inside = lenses[..., 3:4] > 0
    lenses = np.where(inside & (glint[..., 3:4] > 0), (lenses * 0.35 + glint * 0.65).astype(np.uint8), lenses)
    c = np.where(lenses[..., 3:4] > 0, lenses, c)
    cv2.rectangle(c, _s(228, 48), _s(252, 62), frame_col, -1, cv2.LINE_AA)  # bridge
    return _finish(c)


def face_mask() -> np.ndarray:
    c = _canvas(360, 260)
    cloth, pleat, loop = (150, 200, 235, 255), (110, 160, 205, 255), (235, 235, 240, 255)
    pts = np.array([_s(30, 60), _s(180, 20), _s(330, 60), _s(320, 190), _s(180, 250), _s(40, 190)], np.int32)
    cv2.fillPoly(c, [pts], cloth, cv2.LINE_AA)
    cv2.polylines(c, [pts], True, pleat, 2 * SS, cv2.LINE_AA)
    for y in (100, 140, 180):
        cv2.line(c, _s(55, y), _s(305, y), pleat, 3 * SS, cv2.LINE_AA)
    for x in (12, 348):
        _ellipse(c, (x, 125), (12, 60), 0, loop, 4)
    return _finish(c)


SUNGLASS_FRAMES = 8


def draw_all(dest: Path = ASSETS) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    arts = {"bunny_ears.png": bunny_ears(), "top_hat.png": top_hat(), "face_mask.png": face_mask()}
    for i in range(SUNGLASS_FRAMES):
        arts[f"sunglasses_{i}.png"] = sunglasses(i / (SUNGLASS_FRAMES - 1))
    out = []
    for name, rgba in arts.items():
        p = dest / name
        bgra = cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA)
        cv2.imwrite(str(p), bgra, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        out.append(p)
    return out


if __name__ == "__main__":  # pragma: no cover
    for p in draw_all(Path(sys.argv[1]) if len(sys.argv) > 1 else ASSETS):
        print(p, p.stat().st_size)
