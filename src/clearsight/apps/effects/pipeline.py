"""`Effects([...]).apply(frame)`: run the perception the chosen effects need once
per frame, smooth it over time, and apply the effects in a fixed order.

Order matters and is not the caller's problem: body reshaping (moves the
person, and the person mask with it) → background (uses that mask) → face tone
and reshaping → stickers (drawn last, on top of the finished face).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from . import geometry as g
from .errors import EffectConfigError, UnknownEffectError, UnknownPresetError
from .smoothing import LandmarkSmoother


class Effect(Protocol):
    name: str
    needs: tuple[str, ...]

    @property
    def active(self) -> bool: ...

    def apply(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray: ...


@dataclass
class FrameContext:
    """What the effects of one frame share: time, smoothed meshes, head frames, and
    lazily computed person mask / body pose."""

    t: float
    size: tuple[int, int]  # width, height
    meshes: list[np.ndarray] = field(default_factory=list)
    frames: list[g.FaceFrame] = field(default_factory=list)
    perception: Perception | None = None
    frame: np.ndarray | None = None
    _mask: np.ndarray | None = None
    _pose: Any = None
    _pose_done: bool = False

    @property
    def person_mask(self) -> np.ndarray:
        """float32 0..1, frame-sized: probability that a pixel is the person."""
        if self._mask is None:
            assert self.perception is not None and self.frame is not None
            self._mask = self.perception.segment(self.frame)
        return self._mask

    @person_mask.setter
    def person_mask(self, value: np.ndarray) -> None:
        self._mask = value

    @property
    def body(self) -> np.ndarray | None:
        """(33, 3) pose landmarks in pixels (x, y, visibility), or None."""
        if not self._pose_done:
            assert self.perception is not None and self.frame is not None
            self._pose = self.perception.pose(self.frame)
            self._pose_done = True
        return self._pose


class Perception:
    """The models behind the effects, created only when an effect needs them.

    `video=True` lets MediaPipe track between frames (several times faster and
    steadier); photos use `video=False` so every image is detected afresh.
    """

    def __init__(self, video: bool = True, max_faces: int = 4, smoothing: bool = True) -> None:
        self.video = video
        self.max_faces = max_faces
        self.smoother = LandmarkSmoother() if (smoothing and video) else None
        self._mesh = None
        self._seg = None
        self._pose = None

    def meshes(self, rgb: np.ndarray, t: float) -> list[np.ndarray]:
        if self._mesh is None:
            from ...vision.landmarks import FaceMesh

            self._mesh = FaceMesh(max_faces=self.max_faces, static=not self.video)
        raw = [m.points for m in self._mesh.process(rgb)]
        if self.smoother is not None:
            return self.smoother(raw, t)
        return raw

    def segment(self, rgb: np.ndarray) -> np.ndarray:
        if self._seg is None:
            import mediapipe as mp

            from .models import ensure_registered

            ensure_registered()
            from ...models import resolve

            resolve("mp-selfie-segmentation-landscape")
            self._seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)
        res = self._seg.process(rgb)
        mask = res.segmentation_mask
        if mask is None:
            return np.zeros(rgb.shape[:2], np.float32)
        return np.asarray(mask, np.float32)

    def pose(self, rgb: np.ndarray) -> np.ndarray | None:
        if self._pose is None:
            import mediapipe as mp

            from .models import ensure_registered

            ensure_registered()
            from ...models import resolve

            resolve("mp-pose-detection")
            resolve("mp-pose-landmark-full")
            # model_complexity=1 is the only landmark model the wheel ships (0 and 2 download).
            self._pose = mp.solutions.pose.Pose(static_image_mode=not self.video, model_complexity=1, smooth_landmarks=True)
        res = self._pose.process(rgb)
        if res.pose_landmarks is None:
            return None
        h, w = rgb.shape[:2]
        return np.array([[p.x * w, p.y * h, p.visibility] for p in res.pose_landmarks.landmark], np.float32)

    def close(self) -> None:
        for m in (self._mesh, self._seg, self._pose):
            if m is not None:
                m.close()
        self._mesh = self._seg = self._pose = None


_ORDER = {"body": 0, "background": 1, "beauty": 2, "stickers": 3}


class Effects:
    """A chain of effects applied to RGB frames (uint8, H x W x 3).

    >>> fx = Effects([Beauty({"eye_enlarge": 0.4}), Stickers(("sunglasses",))])
    >>> out = fx.apply(frame)           # video: call once per frame, in order
    """

    def __init__(self, effects: list[Effect] | tuple[Effect, ...] = (), *, video: bool = True, max_faces: int = 4, smoothing: bool = True) -> None:
        self.effects = sorted((e for e in effects), key=lambda e: _ORDER.get(e.name, 9))
        self.perception = Perception(video=video, max_faces=max_faces, smoothing=smoothing)
        self._t0: float | None = None

    @property
    def active(self) -> list[Effect]:
        return [e for e in self.effects if e.active]

    def context(self, frame: np.ndarray, t: float | None = None) -> FrameContext:
        if t is None:
            now = time.monotonic()
            self._t0 = now if self._t0 is None else self._t0
            t = now - self._t0
        h, w = frame.shape[:2]
        ctx = FrameContext(t=t, size=(w, h), perception=self.perception, frame=frame)
        if any("face_mesh" in e.needs for e in self.active):
            ctx.meshes = self.perception.meshes(frame, t)
            ctx.frames = [g.face_frame(m, (w, h)) for m in ctx.meshes]
        return ctx

    def apply(self, frame: np.ndarray, t: float | None = None) -> np.ndarray:
        """The frame with every active effect applied; the input is never modified.

        `t` (seconds) drives smoothing and animations; pass the video timestamp when
        known, otherwise wall time is used.
        """
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise EffectConfigError("Effects.apply needs an RGB uint8 array of shape (H, W, 3); use clearsight.io.load_image")
        active = self.active
        if not active:
            return frame.copy()
        ctx = self.context(frame, t)
        out = frame
        for e in active:
            ctx.frame = out if e.name != "body" else frame
            out = e.apply(out, ctx)
        return out if out is not frame else frame.copy()

    def close(self) -> None:
        self.perception.close()

    def __enter__(self) -> Effects:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- presets & parameters
# A preset is only a starting point; every value can be overridden with --set key=value.
PRESETS: dict[str, dict[str, Any]] = {
    "none": {},
    "natural": {"smooth_skin": 0.5, "brighten": 0.2},
    "glam": {"smooth_skin": 0.7, "brighten": 0.3, "eye_enlarge": 0.35, "face_slim": 0.5, "nose_narrow": 0.4, "chin": 0.2},
    "cartoon": {"eye_enlarge": 0.9, "nose_lengthen": 0.8, "face_slim": 0.3, "stickers": "bunny_ears"},
    "party": {"stickers": "sunglasses,top_hat"},
    "bunny": {"stickers": "bunny_ears"},
    "stream": {"smooth_skin": 0.5, "brighten": 0.2, "background": "blur", "background_strength": 0.8},
    "slim-stream": {"waist": -0.4, "legs": -0.3, "arms": -0.3, "background": "blur", "background_strength": 0.6},
}


def _body_keys() -> tuple[str, ...]:
    from .body import BODY_PARAMS

    return BODY_PARAMS


def parse_sets(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """`["eye_enlarge=0.4", "stickers=sunglasses,bunny_ears"]` -> dict, with numbers parsed."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise EffectConfigError(f"--set expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        k, v = k.strip().replace("-", "_"), v.strip()
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
    return out


def build(preset: str = "none", params: dict[str, Any] | None = None, *, video: bool = True, max_faces: int = 4,
          smoothing: bool = True, sticker_manifest: str | None = None) -> Effects:
    """Effects from a preset name and overrides (the CLI, the service and the console use this)."""
    from .background import BACKGROUND_MODES, Background
    from .beauty import BEAUTY_PARAMS, Beauty
    from .body import Body
    from .stickers import Stickers

    if preset not in PRESETS:
        raise UnknownPresetError(f"unknown preset {preset!r}; available: {', '.join(PRESETS)}")
    p: dict[str, Any] = {**PRESETS[preset], **(params or {})}
    known = set(BEAUTY_PARAMS) | set(_body_keys()) | {"stickers", "background", "background_strength", "background_image", "background_color"}
    unknown = sorted(set(p) - known)
    if unknown:
        raise UnknownEffectError(f"unknown effect parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    effects: list[Effect] = []
    beauty = {k: p[k] for k in BEAUTY_PARAMS if k in p}
    for k, v in beauty.items():
        if not isinstance(v, float | int):
            raise EffectConfigError(f"{k} must be a number in 0..1, got {v!r}")
    if beauty:
        effects.append(Beauty(beauty))
    body = {k: p[k] for k in _body_keys() if k in p}
    if body:
        effects.append(Body(body))
    names = p.get("stickers") or ""
    if isinstance(names, str):
        names = tuple(n.strip() for n in names.split(",") if n.strip())
    if names:
        effects.append(Stickers(tuple(names), manifest=sticker_manifest))
    mode = p.get("background")
    if mode:
        if mode not in BACKGROUND_MODES:
            raise EffectConfigError(f"background must be one of {', '.join(BACKGROUND_MODES)}, got {mode!r}")
        effects.append(Background(mode=str(mode), strength=float(p.get("background_strength", 0.7)),
                                  image=p.get("background_image"), color=p.get("background_color")))
    return Effects(effects, video=video, max_faces=max_faces, smoothing=smoothing)


_photo_lock = threading.Lock()
_photo_pipelines: OrderedDict[str, tuple[Effects, threading.Lock]] = OrderedDict()
_PHOTO_CACHE = 4


def _photo_pipeline(preset: str, params: dict[str, Any] | None) -> tuple[Effects, threading.Lock]:
    """A photo-mode pipeline per configuration, kept warm: building one loads the
    face mesh graph (hundreds of ms), and photo mode keeps no state between images."""
    sig = json.dumps([preset, params or {}], sort_keys=True, default=str)
    with _photo_lock:
        item = _photo_pipelines.get(sig)
        if item is not None:
            _photo_pipelines.move_to_end(sig)
            return item
    fx = build(preset, params, video=False)  # validates; raises typed errors
    with _photo_lock:
        item = _photo_pipelines.setdefault(sig, (fx, threading.Lock()))
        _photo_pipelines.move_to_end(sig)
        evicted = []
        while len(_photo_pipelines) > _PHOTO_CACHE:
            evicted.append(_photo_pipelines.popitem(last=False)[1])
    if item[0] is not fx:
        fx.close()
    for old_fx, old_lock in evicted:
        with old_lock:
            old_fx.close()
    return item


def apply_effects_to_image(image_bytes: bytes, preset: str = "none", params: dict[str, Any] | None = None, *, quality: int = 90) -> bytes:
    """Decode an image, apply the effects as for a photo (no tracking), return JPEG bytes.

    The service's `POST /v1/effects` is this function; bad images and bad
    parameters raise the library's typed errors (HTTP 422).
    """
    from ...io import decode_bytes, encode_jpeg

    fx, lock = _photo_pipeline(preset, params)
    rgb = decode_bytes(image_bytes)
    with lock:
        out = fx.apply(rgb, t=0.0)
    return encode_jpeg(out, quality=quality)
