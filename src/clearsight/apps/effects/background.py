"""Background blur or replacement behind the person (MediaPipe selfie segmentation).

Blur is a normalised (masked) blur at quarter resolution: the person's own
colours are excluded before blurring, so no glowing halo appears around the
head, and a quarter-resolution blur costs ~1 ms at 720p.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .errors import EffectConfigError

BACKGROUND_MODES = ("blur", "image", "color")


def _parse_color(value: str | tuple | None) -> tuple[int, int, int]:
    if value is None:
        return (0, 177, 64)  # chroma green: useful for keying downstream
    if isinstance(value, str):
        v = value.lstrip("#")
        if len(v) != 6:
            raise EffectConfigError(f"background_color must be #RRGGBB, got {value!r}")
        try:
            return tuple(int(v[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
        except ValueError:
            raise EffectConfigError(f"background_color must be #RRGGBB, got {value!r}") from None
    return tuple(int(c) for c in value)[:3]  # type: ignore[return-value]


@dataclass
class Background:
    mode: str = "blur"
    strength: float = 0.7  # blur: 0..1 of the maximum blur radius
    image: str | Path | np.ndarray | None = None
    color: str | tuple | None = None
    name: str = "background"
    needs: tuple[str, ...] = ("segmentation",)
    _bg: np.ndarray | None = field(default=None, init=False, repr=False)
    _bg_sized: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in BACKGROUND_MODES:
            raise EffectConfigError(f"background mode must be one of {', '.join(BACKGROUND_MODES)}, got {self.mode!r}")
        if not 0.0 <= float(self.strength) <= 1.0:
            raise EffectConfigError(f"background_strength must be within 0..1, got {self.strength}")
        if self.mode == "image":
            if self.image is None:
                raise EffectConfigError("background mode 'image' needs background_image (a path or an image)")
            from ...io import load_image

            self._bg = load_image(self.image)
        elif self.mode == "color":
            self._rgb = _parse_color(self.color)

    @property
    def active(self) -> bool:
        return self.mode != "blur" or self.strength > 0

    def _replacement(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        if self.mode == "color":
            return np.broadcast_to(np.array(self._rgb, np.uint8), frame.shape)
        if self.mode == "image":
            if self._bg_sized is None or self._bg_sized.shape != frame.shape:
                # cover the frame, keep the aspect ratio, crop the centre
                bh, bw = self._bg.shape[:2]
                s = max(w / bw, h / bh)
                r = cv2.resize(self._bg, (max(w, round(bw * s)), max(h, round(bh * s))), interpolation=cv2.INTER_AREA)
                oy, ox = (r.shape[0] - h) // 2, (r.shape[1] - w) // 2
                self._bg_sized = np.ascontiguousarray(r[oy : oy + h, ox : ox + w])
            return self._bg_sized
        q = 8  # the blur is wide: an eighth of the resolution loses nothing visible
        small = cv2.resize(frame, (max(1, w // q), max(1, h // q)), interpolation=cv2.INTER_AREA).astype(np.float32)
        m = cv2.resize(self._small_mask, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
        keep = (1.0 - m)[..., None]
        sigma = max(0.5, 0.006 * max(w, h) * float(self.strength))
        num = cv2.GaussianBlur(small * keep, (0, 0), sigma)
        den = cv2.GaussianBlur(keep, (0, 0), sigma)
        if den.ndim == 2:
            den = den[..., None]
        blurred = np.where(den > 1e-3, num / np.maximum(den, 1e-3), cv2.GaussianBlur(small, (0, 0), sigma))
        return cv2.resize(np.clip(blurred + 0.5, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)

    def apply(self, frame: np.ndarray, ctx) -> np.ndarray:
        if not self.active:
            return frame
        mask = np.asarray(ctx.person_mask, np.float32)
        h, w = frame.shape[:2]
        # Soften the segmentation edge (hard edges look cut out) at quarter resolution;
        # the bilinear upsampling feathers it further for free.
        small = cv2.resize(mask, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), 0.8)
        self._small_mask = small
        self._mask = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        bg = np.ascontiguousarray(self._replacement(frame), dtype=np.uint8)
        return cv2.blendLinear(frame, bg, self._mask, 1.0 - self._mask)
