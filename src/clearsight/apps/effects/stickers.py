"""Stickers that stay on the face: placed in head coordinates and projected with the
head pose, so they turn, tilt and scale with the face; layered so the face (and
nearer faces) hide what should be behind them.

A sticker is art (one PNG, or frames for an animation) plus a few numbers in a
manifest: which mesh anchor it hangs from, which point of the art sits there,
its size and offset in millimetres of an average head, and its layer. Users add
their own by pointing `--stickers-manifest` (or `Stickers(manifest=...)`) at a
manifest of the same shape next to their PNGs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from . import geometry as g
from .errors import StickerAssetError

BUILTIN_MANIFEST = Path(__file__).with_name("assets") / "manifest.json"
LAYERS = ("front", "behind_face")


@dataclass(frozen=True)
class StickerSpec:
    name: str
    frames: tuple[np.ndarray, ...]  # RGBA uint8
    anchor: str
    image_anchor: tuple[float, float]  # fraction of width, height
    size_mm: tuple[float, float]
    offset_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    layer: str = "front"
    fps: float = 0.0
    loop_pause_s: float = 0.0

    def frame_at(self, t: float) -> np.ndarray:
        if len(self.frames) == 1 or self.fps <= 0:
            return self.frames[0]
        run = len(self.frames) / self.fps
        phase = t % (run + self.loop_pause_s)
        return self.frames[min(int(phase * self.fps), len(self.frames) - 1)] if phase < run else self.frames[0]

    def corners_mm(self) -> np.ndarray:
        """The art's four corners (tl, tr, br, bl) in head millimetres relative to the anchor."""
        w, h = self.size_mm
        ax, ay = self.image_anchor
        ox, oy, oz = self.offset_mm
        xs = np.array([-ax * w, (1 - ax) * w, (1 - ax) * w, -ax * w]) + ox
        ys = np.array([ay * h, ay * h, -(1 - ay) * h, -(1 - ay) * h]) + oy
        return np.stack([xs, ys, np.full(4, oz)], axis=1)


def _read_rgba(path: Path) -> np.ndarray:
    if not path.is_file():
        raise StickerAssetError(f"sticker image not found: {path}")
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise StickerAssetError(f"cannot decode sticker image {path}")
    if data.ndim == 2:
        data = cv2.cvtColor(data, cv2.COLOR_GRAY2BGRA)
    elif data.shape[2] == 3:
        data = cv2.cvtColor(data, cv2.COLOR_BGR2BGRA)
    if data.dtype != np.uint8:
        data = (data / 257).astype(np.uint8)
    return cv2.cvtColor(data, cv2.COLOR_BGRA2RGBA)


def _pair(v, n: int, what: str, name: str) -> tuple[float, ...]:
    try:
        t = tuple(float(x) for x in v)
    except (TypeError, ValueError):
        raise StickerAssetError(f"sticker {name!r}: {what} must be {n} numbers") from None
    if len(t) != n:
        raise StickerAssetError(f"sticker {name!r}: {what} must be {n} numbers")
    return t


@lru_cache(maxsize=16)
def load_manifest(path: str | Path = BUILTIN_MANIFEST) -> dict[str, StickerSpec]:
    """Parse and validate a sticker manifest; images are resolved relative to it."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise StickerAssetError(f"sticker manifest not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise StickerAssetError(f"sticker manifest {path} is not valid JSON: {exc}") from None
    entries = doc.get("stickers") if isinstance(doc, dict) else None
    if not isinstance(entries, dict):
        raise StickerAssetError(f"sticker manifest {path} needs an object 'stickers'")
    out = {}
    for name, e in entries.items():
        if not isinstance(e, dict):
            raise StickerAssetError(f"sticker {name!r}: entry must be an object")
        files = e.get("frames") or ([e["file"]] if "file" in e else [])
        if not files:
            raise StickerAssetError(f"sticker {name!r}: needs 'file' or 'frames'")
        anchor = str(e.get("anchor", "eyes"))
        if anchor not in g.ANCHORS and not anchor.startswith("idx:"):
            raise StickerAssetError(f"sticker {name!r}: unknown anchor {anchor!r}; known: {', '.join(sorted(g.ANCHORS))} or idx:N")
        layer = str(e.get("layer", "front"))
        if layer not in LAYERS:
            raise StickerAssetError(f"sticker {name!r}: layer must be one of {LAYERS}")
        size = _pair(e.get("size_mm"), 2, "size_mm", name)
        if min(size) <= 0:
            raise StickerAssetError(f"sticker {name!r}: size_mm must be positive")
        out[name] = StickerSpec(
            name=name,
            frames=tuple(_read_rgba(path.parent / f) for f in files),
            anchor=anchor,
            image_anchor=_pair(e.get("image_anchor", (0.5, 0.5)), 2, "image_anchor", name),  # type: ignore[arg-type]
            size_mm=size,  # type: ignore[arg-type]
            offset_mm=_pair(e.get("offset_mm", (0, 0, 0)), 3, "offset_mm", name),  # type: ignore[arg-type]
            layer=layer,
            fps=float(e.get("fps", 0.0)),
            loop_pause_s=float(e.get("loop_pause_s", 0.0)),
        )
    return out


def available(manifest: str | Path | None = None) -> list[str]:
    return sorted(load_manifest(manifest or BUILTIN_MANIFEST))


def placement(spec: StickerSpec, mesh: np.ndarray, frame: g.FaceFrame) -> np.ndarray:
    """Pixel positions of the art's corners (tl, tr, br, bl) on this face."""
    anchor_px = g.anchor_point(mesh, spec.anchor).astype(np.float64)
    here = g.FaceFrame(frame.rotation, anchor_px, frame.scale, frame.focal, frame.pose)
    return here.project(spec.corners_mm())


def composite(dst: np.ndarray, art: np.ndarray, corners: np.ndarray, hide: np.ndarray | None = None) -> None:
    """Alpha-blend the art onto `dst` (in place) with its corners at `corners`.

    Only the bounding rectangle of the quad is warped and blended; `hide` (float
    0..1, frame-sized) removes the art where something in front covers it.
    """
    h, w = dst.shape[:2]
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    ah, aw = art.shape[:2]
    src = np.float32([[0, 0], [aw, 0], [aw, ah], [0, ah]])
    m = cv2.getPerspectiveTransform(src, (corners - np.array([x0, y0], np.float32)).astype(np.float32))
    warped = cv2.warpPerspective(art, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    alpha = warped[..., 3:4].astype(np.float32) / 255.0
    if hide is not None:
        alpha = alpha * (1.0 - hide[y0:y1, x0:x1, None])
    roi = dst[y0:y1, x0:x1].astype(np.float32)
    dst[y0:y1, x0:x1] = (roi + alpha * (warped[..., :3].astype(np.float32) - roi) + 0.5).astype(np.uint8)


@dataclass
class Stickers:
    """Draw the named stickers on every face.

    Faces are drawn far to near (by eye span), and a sticker is hidden wherever a
    nearer face is, or, for `behind_face` art, where its own face is: ears come
    out from behind the head rather than being pasted over the forehead.
    """

    names: tuple[str, ...] = ()
    manifest: str | None = None
    name: str = "stickers"
    needs: tuple[str, ...] = ("face_mesh",)
    specs: dict[str, StickerSpec] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from .errors import UnknownEffectError

        self.names = tuple(self.names)
        catalogue = load_manifest(self.manifest or BUILTIN_MANIFEST)
        missing = [n for n in self.names if n not in catalogue]
        if missing:
            raise UnknownEffectError(f"unknown sticker(s) {', '.join(missing)}; available: {', '.join(sorted(catalogue))}")
        self.specs = {n: catalogue[n] for n in self.names}

    @property
    def active(self) -> bool:
        return bool(self.names)

    def apply(self, frame: np.ndarray, ctx) -> np.ndarray:
        if not self.active or not ctx.meshes:
            return frame
        out = frame.copy()
        shape = frame.shape[:2]
        order = sorted(range(len(ctx.meshes)), key=lambda i: g.eye_span(ctx.meshes[i]))
        ovals = {i: None for i in order}

        def oval(i: int) -> np.ndarray:
            if ovals[i] is None:
                # feathered outwards: fully opaque over the whole face, soft just outside it
                sigma = max(1.0, 0.02 * g.eye_span(ctx.meshes[i]))
                r = int(round(2 * sigma))
                m = cv2.dilate(g.face_mask(shape, ctx.meshes[i]), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
                ovals[i] = cv2.GaussianBlur(m, (0, 0), sigma).astype(np.float32) / 255.0
            return ovals[i]

        for rank, i in enumerate(order):
            nearer = order[rank + 1 :]
            for spec in self.specs.values():
                corners = placement(spec, ctx.meshes[i], ctx.frames[i])
                hide = None
                covers = [oval(j) for j in nearer if _overlaps(corners, ctx.meshes[j])]
                if spec.layer == "behind_face":
                    covers.append(oval(i))
                if covers:
                    hide = np.maximum.reduce(covers) if len(covers) > 1 else covers[0]
                composite(out, spec.frame_at(ctx.t), corners, hide)
        return out


def _overlaps(corners: np.ndarray, mesh: np.ndarray) -> bool:
    p = g.xy(mesh)
    a0, a1 = corners.min(axis=0), corners.max(axis=0)
    b0, b1 = p.min(axis=0), p.max(axis=0)
    return bool(np.all(a0 <= b1) and np.all(b0 <= a1))
