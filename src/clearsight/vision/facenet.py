"""`facenet`: FaceNet Inception-ResNet-v1 (128-d, the Keras port), as an embedder.

Opt-in only: its weights carry no licence and were trained on MS-Celeb-1M (see
`models/facenet.py`). FaceNet was trained on MTCNN box crops with a margin,
resized to 160x160; we warp our five landmarks onto `facenet_template()`, the
`faceres` box-crop layout (`FACERES_224`) rescaled to 160 px at a tighter zoom
(`ZOOM`: the face is ZOOM times larger in the chip than in faceres's 1.4x box
crop; probed on LFW fold-1 pairs by `bench/embedders.py --probe`).
Pixels are standardised per image ("prewhiten"), as FaceNet's own code does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..models import runtime
from ..models.facenet import INPUT_NAME, ONNX_MODEL, OUTPUT_NAME, SIZE
from ..types import Face
from .alignment import AlignmentTemplate, align
from .face_embedding import l2_normalise, register_embedder

# Face scale in the chip relative to faceres's 1.4x box crop.
ZOOM = 1.1


def facenet_template(zoom: float = ZOOM) -> AlignmentTemplate:
    """`FACERES_224` (faceres's box-crop layout) rescaled to 160 px at `zoom`."""
    from .faceres import FACERES_224  # faceres imports the embedder registry: not at import time

    return AlignmentTemplate(name=f"facenet-160-zoom{zoom}", size=SIZE,
                             points=(FACERES_224.points - 112.0) * zoom * (SIZE / 224) + SIZE / 2, point_kind="five")


def prewhiten(chips: np.ndarray) -> np.ndarray:
    """(x - mean) / max(std, 1/sqrt(n)) over each whole chip (FaceNet's `prewhiten`)."""
    x = np.asarray(chips, np.float32)
    axes = tuple(range(1, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    std = np.maximum(x.std(axis=axes, keepdims=True), 1.0 / np.sqrt(x[0].size))
    return ((x - mean) / std).astype(np.float32)


@register_embedder("facenet")
class FaceNetEmbedder:
    name = "facenet"
    dim = 128

    def __init__(self, template: AlignmentTemplate | None = None) -> None:
        self.template = template or facenet_template()
        self.model_id = f"facenet-keras-20170512-{self.template.name}"
        self._sess = runtime.onnx_session(ONNX_MODEL)

    def align(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        return align(rgb, face.landmarks.xy(), self.template)

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        x = prewhiten(np.stack([np.asarray(c, np.float32) for c in chips]))
        return l2_normalise(self._sess.run([OUTPUT_NAME], {INPUT_NAME: x})[0])
