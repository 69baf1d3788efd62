"""Face embedders behind one interface, with a registry.

An embedder owns its alignment (each network was trained on crops cut its own
way) and returns L2-normalised vectors, so similarity is a dot product for every
model and the gallery can store any of them. `model_id` (name@version) travels
with every template: templates of different models are never compared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from ..errors import UnknownBackendError
from ..models import runtime
from ..types import Embedding, Face
from .alignment import DLIB_RESNET_150, align
from .landmarks import dlib_box_from_face, dlib_shape5
from . import threads_option


class FaceEmbedder(Protocol):
    name: str
    model_id: str
    dim: int

    def align(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        """The aligned chip this embedder consumes."""
        ...

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """(N, dim) float32, rows L2-normalised."""
        ...


_EMBEDDERS: dict[str, Callable[..., FaceEmbedder]] = {}


def register_embedder(name: str) -> Callable[[Callable[..., FaceEmbedder]], Callable[..., FaceEmbedder]]:
    def deco(factory: Callable[..., FaceEmbedder]) -> Callable[..., FaceEmbedder]:
        _EMBEDDERS[name] = factory
        return factory

    return deco


def available_embedders() -> list[str]:
    return sorted(_EMBEDDERS)


def create_embedder(name: str, *, threads: int | None = None, **options: object) -> FaceEmbedder:
    try:
        factory = _EMBEDDERS[name]
    except KeyError:
        raise UnknownBackendError(f"unknown face embedder {name!r}; choose from {', '.join(available_embedders())}") from None
    return factory(**options, **threads_option(factory, threads))  # threads: for backends that take it


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)


def embed_faces(embedder: FaceEmbedder, rgb: np.ndarray, faces: Sequence[Face]) -> list[Embedding]:
    """Batch: align every face, run the network once over all chips."""
    if not faces:
        return []
    chips = [embedder.align(rgb, f) for f in faces]
    vectors = embedder.embed_chips(chips)
    return [Embedding(v, embedder.model_id) for v in vectors]


@register_embedder("dlib-resnet")
class DlibResNetEmbedder:
    """dlib's ResNet-29 (128-d), the network of the `face_recognition` package.

    Alignment: dlib's 5-point predictor refines the eye corners and nose base
    inside a box rebuilt from the detector's landmarks, then our similarity
    transform maps them onto dlib's 150x150 template (see alignment.py).
    `flip=True` also embeds the mirrored chip and averages: a cheap test-time
    augmentation, on by default only if bench/verify.py shows it pays.
    """

    name = "dlib-resnet"
    dim = 128

    def __init__(self, flip: bool = False) -> None:
        self.flip = bool(flip)
        self.model_id = "dlib-resnet-v1" + ("+flip" if self.flip else "")
        self._net = runtime.dlib_face_recognition_model("dlib-resnet-v1")

    def align(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        points = dlib_shape5(rgb, dlib_box_from_face(face))
        return align(rgb, points, DLIB_RESNET_150)

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        batch = [np.ascontiguousarray(c) for c in chips]
        vecs = np.asarray(self._net.compute_face_descriptor(batch), dtype=np.float32)
        if self.flip:
            mirrored = [np.ascontiguousarray(c[:, ::-1]) for c in batch]
            vecs = vecs + np.asarray(self._net.compute_face_descriptor(mirrored), dtype=np.float32)
        return l2_normalise(vecs.reshape(len(batch), self.dim))


@register_embedder("dlib-resnet-flip")
def _dlib_resnet_flip() -> DlibResNetEmbedder:
    return DlibResNetEmbedder(flip=True)


# Embedders that live in their own modules register themselves on import.
_EMBEDDER_MODULES = (
    "clearsight.vision.dlib_resnet_onnx",
    "clearsight.vision.faceres",
    "clearsight.vision.mobileface",
    "clearsight.vision.facenet",
    "clearsight.vision.fused_embedding",
)


def _load_embedder_modules() -> None:
    import importlib

    for name in _EMBEDDER_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise


_load_embedder_modules()
