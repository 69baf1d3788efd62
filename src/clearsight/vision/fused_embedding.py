"""Score-level fusion of two embedders, as one embedding.

Why an embedding and not a score rule: the gallery, its index and the open-set
calibration all work on "similarity = dot product of two templates of one
model". Concatenating the members' L2-normalised vectors, each scaled by
sqrt(w_i), and normalising the result gives

    dot(fused(a), fused(b)) = sum_i w_i cos_i(a, b) / sum_i w_i

a weighted sum of the members' cosines. With w_i = 1 / (std of member i's
impostor cosines) that is the z-normalised score sum up to an additive constant
and a positive factor, which leaves every ranking and every threshold decision
unchanged. So a fused template is stored, indexed, searched and calibrated like
any other, and its `model_id` names both members and their weights: a template
fused differently is a different model and is never compared with this one.

The weights come from the members' impostor scores on LFW's identification
subset (`fusion_weights.json`, written by `bench/embedders.py --calibrate`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import ModelNotFoundError
from ..types import Face
from .face_embedding import FaceEmbedder, create_embedder, l2_normalise, register_embedder

WEIGHTS_FILE = "fusion_weights.json"
# Member pairs offered as embedders: dlib (the default) with each other embedder.
FUSIONS = {
    "dlib+faceres": ("dlib-resnet-onnx-flip", "faceres"),
    "dlib+faceres-deep": ("dlib-resnet-onnx-flip", "faceres-deep"),
    "dlib+mobileface": ("dlib-resnet-onnx-flip", "mobileface"),
    "dlib+facenet": ("dlib-resnet-onnx-flip", "facenet"),
}


def impostor_weight(impostor_scores: np.ndarray) -> float:
    """A member's weight: 1 / std of its impostor cosines (z-normalisation's scale)."""
    return rounded_weight(1.0 / max(float(np.std(np.asarray(impostor_scores, np.float64))), 1e-6))


def fuse_vectors(parts: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """(N, sum d_i) fused templates from (N, d_i) member templates (rows L2-normalised; NaN rows stay NaN)."""
    total = float(sum(weights))
    cols = [np.asarray(x, np.float32) * np.float32(np.sqrt(w / total)) for x, w in zip(parts, weights)]
    return np.concatenate(cols, axis=-1).astype(np.float32)


def fused_model_id(member_ids: Sequence[str], weights: Sequence[float]) -> str:
    return "fused(" + ",".join(f"{m}*{w:.4g}" for m, w in zip(member_ids, weights)) + ")"


def rounded_weight(w: float) -> float:
    """Weights are used as the model id shows them, so the id is the whole truth."""
    return float(f"{w:.4g}")


@lru_cache(maxsize=1)
def _weights() -> dict[str, float]:
    try:
        data = json.loads(resources.files("clearsight.vision").joinpath(WEIGHTS_FILE).read_text())
    except FileNotFoundError:
        return {}
    return {k: float(v["weight"]) for k, v in data.get("models", {}).items()}


class FusedEmbedder:
    """Two embedders' templates as one (see the module docstring)."""

    def __init__(self, name: str, members: Sequence[str]) -> None:
        self.name = name
        self.members: list[FaceEmbedder] = [create_embedder(m) for m in members]
        table = _weights()
        missing = [m.model_id for m in self.members if m.model_id not in table]
        if missing:
            raise ModelNotFoundError(f"no fusion weights for {missing} in vision/{WEIGHTS_FILE} "
                                     "(bench/embedders.py --calibrate)")
        self.weights = [table[m.model_id] for m in self.members]
        self.dim = sum(m.dim for m in self.members)
        self.model_id = fused_model_id([m.model_id for m in self.members], self.weights)

    def align(self, rgb: np.ndarray, face: Face) -> tuple[np.ndarray, ...]:  # type: ignore[override]
        return tuple(m.align(rgb, face) for m in self.members)

    def embed_chips(self, chips: Sequence[tuple[np.ndarray, ...]]) -> np.ndarray:  # type: ignore[override]
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        parts = [m.embed_chips([c[i] for c in chips]) for i, m in enumerate(self.members)]
        return l2_normalise(fuse_vectors(parts, self.weights))


def _register(name: str, members: tuple[str, ...]) -> None:
    register_embedder(name)(lambda: FusedEmbedder(name, members))


for _name, _members in FUSIONS.items():
    _register(_name, _members)
