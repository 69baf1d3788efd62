"""Clearsight: open, privacy-first vision AI that runs offline on one machine.

The top-level functions use one shared, lazily built `FacePipeline` with the
configured default detector and embedder:

    import clearsight
    faces = clearsight.detect_faces("group.jpg")
    result = clearsight.verify("selfie.jpg", "id_photo.jpg")   # .similarity, .decision, .operating_point
    template = clearsight.embed("selfie.jpg")                   # L2-normalised Embedding
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .errors import (
    ClearsightError,
    ImageDecodeError,
    ImageTooLargeError,
    InputError,
    ModelError,
    NoFaceError,
    UnsupportedFormatError,
)
from .io import load_image
from .types import BBox, Decision, Detection, Embedding, Event, Face, Landmarks, Match, QualityReport, Track, Verification

if TYPE_CHECKING:
    from .face.pipeline import FacePipeline
    from .io import ImageInput

__version__ = "0.1.0"


def _quiet_native_logs() -> None:
    """Turn down the C++ runtimes' own log levels, once, before anything loads them.

    Why here: these libraries read their settings from the environment when they
    start, and `import clearsight` comes before any model load and any thread (the
    CLI, the service and library users all pass through it), so there is no need to
    redirect file descriptor 2 later, which raced with other threads and lost every
    later traceback. `setdefault` leaves a user's own choice alone;
    CLEARSIGHT_NATIVE_LOGS=1 keeps everything for debugging. onnxruntime's level is
    set through its API when it is first imported (`models.runtime`).
    """
    if os.environ.get("CLEARSIGHT_NATIVE_LOGS") == "1":
        return
    os.environ.setdefault("GLOG_minloglevel", "2")  # glog-based natives: errors only
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow / TFLite C++ logging


# The imports above load no native runtime (those are imported lazily by the adapters),
# so this still runs first.
_quiet_native_logs()


def pipeline() -> FacePipeline:
    from .face.pipeline import default_pipeline

    return default_pipeline()


def detect_faces(image: ImageInput, *, mesh: bool = False) -> list[Face]:
    """Every face in the image, best first (box, score, 5 landmarks; optional 478-point mesh)."""
    return pipeline().detect(image, mesh=mesh)


def embed(image: ImageInput) -> Embedding:
    """The template of the largest face in the image."""
    return pipeline().embed(image)


def verify(a: ImageInput | Embedding, b: ImageInput | Embedding, operating_point: str | None = None) -> Verification:
    """1:1: are the largest faces of `a` and `b` the same person, at a named operating point?"""
    return pipeline().verify(a, b, operating_point)


__all__ = [
    "BBox",
    "ClearsightError",
    "Decision",
    "Detection",
    "Embedding",
    "Event",
    "Face",
    "ImageDecodeError",
    "ImageTooLargeError",
    "InputError",
    "Landmarks",
    "Match",
    "ModelError",
    "NoFaceError",
    "QualityReport",
    "Track",
    "UnsupportedFormatError",
    "Verification",
    "detect_faces",
    "embed",
    "load_image",
    "pipeline",
    "verify",
]
