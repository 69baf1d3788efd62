"""dlib's ResNet-29 face embedder run by onnxruntime instead of dlib.

The weights are dlib's own, converted once at setup by `clearsight.models.dlib_onnx`
(`dlib-resnet-v1-onnx`). The graph reproduces dlib's arithmetic: its descriptors
differ from dlib's by float32 rounding only (< 1e-6 per component on real chips,
measured by tests/integration/face/test_dlib_onnx_equivalence.py). Templates are
therefore interchangeable with the dlib embedder's, and share its `model_id` and
its calibrated operating points. It runs ~15-20x faster than dlib built without
BLAS (the wheel `dlib-bin` ships).

Alignment is the dlib embedder's (inherited), so the two produce the same chip.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..models import runtime
from ..models.dlib_onnx import CHIP_SIZE, INPUT_NAME, ONNX_MODEL
from .face_embedding import DlibResNetEmbedder, l2_normalise, register_embedder

# Largest batch sent to onnxruntime at once: bounds the activation memory of a
# crowded frame (~2 MB per chip) without costing speed (throughput is flat past ~8).
MAX_BATCH = 64


@register_embedder("dlib-resnet-onnx")
class DlibResNetOnnxEmbedder(DlibResNetEmbedder):
    """Same network, chips and templates as `dlib-resnet`; onnxruntime does the maths.

    `flip=True` averages the descriptors of the chip and its mirror image (as the
    dlib embedder does), computed in the same onnxruntime call.
    `threads` overrides the settings' thread count for this embedder's session.
    """

    name = "dlib-resnet-onnx"
    dim = 128

    def __init__(self, flip: bool = False, threads: int | None = None) -> None:
        self.flip = bool(flip)
        # Numerically the dlib network (max |diff| of normalised vectors ~1e-7), so
        # templates stay comparable with dlib-resnet's and use its calibration.
        self.model_id = "dlib-resnet-v1" + ("+flip" if self.flip else "")
        self._session = runtime.onnx_session(ONNX_MODEL, threads)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        out = [self._session.run(None, {INPUT_NAME: batch[i : i + MAX_BATCH]})[0] for i in range(0, len(batch), MAX_BATCH)]
        return np.concatenate(out, axis=0)

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        if not len(chips):
            return np.zeros((0, self.dim), np.float32)
        batch = np.stack([np.asarray(c) for c in chips])
        if batch.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"chips must be {CHIP_SIZE}x{CHIP_SIZE}x3, got {batch.shape[1:]}")
        if batch.dtype != np.uint8:  # dlib takes 8-bit RGB; the graph casts from uint8
            batch = np.clip(np.rint(batch), 0, 255).astype(np.uint8)
        n = len(batch)
        if self.flip:
            batch = np.concatenate([batch, batch[:, :, ::-1]], axis=0)
        vecs = self._run(np.ascontiguousarray(batch))
        if self.flip:
            vecs = vecs[:n] + vecs[n:]
        return l2_normalise(vecs.reshape(n, self.dim))


@register_embedder("dlib-resnet-onnx-flip")
def _dlib_resnet_onnx_flip(threads: int | None = None) -> DlibResNetOnnxEmbedder:
    return DlibResNetOnnxEmbedder(flip=True, threads=threads)
