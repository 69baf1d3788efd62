"""Face and body effects for selfies and livestreams: stickers, beautification,
body reshaping and background, chosen by the user and off by default.

    from clearsight.apps.effects import Effects, Beauty, Stickers
    fx = Effects([Beauty({"eye_enlarge": 0.4}), Stickers(("sunglasses",))])
    out = fx.apply(rgb_frame)

Names are imported lazily so `clearsight --help` does not pay for OpenCV/NumPy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Effects": "pipeline", "build": "pipeline", "apply_effects_to_image": "pipeline", "PRESETS": "pipeline",
    "Beauty": "beauty", "Stickers": "stickers", "Body": "body", "Background": "background",
    "OneEuroFilter": "smoothing", "LandmarkSmoother": "smoothing",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
