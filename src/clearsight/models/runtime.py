"""Thin, cached constructors for the model runtimes (onnxruntime, dlib, mediapipe).

Loading a model costs 10-500 ms; every adapter asks here so each file is loaded
once per process however many detectors, pipelines or requests use it.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from ..config import get_settings
from ..errors import ModelError
from .registry import resolve

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _onnxruntime() -> Any:
    """onnxruntime, with its process-wide logger at ERROR: graph-optimiser warnings
    (unused initialisers, ...) are noise to a user; a real load failure still raises."""
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    return ort


@lru_cache(maxsize=None)
def onnx_session(model_name: str, threads: int | None = None) -> Any:
    ort = _onnxruntime()

    path = resolve(model_name)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or get_settings().threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"onnxruntime could not load {model_name} from {path}: {exc}") from None


@lru_cache(maxsize=None)
def dlib_shape_predictor(model_name: str) -> Any:
    import dlib

    return dlib.shape_predictor(str(resolve(model_name)))


@lru_cache(maxsize=None)
def dlib_face_recognition_model(model_name: str) -> Any:
    import dlib

    return dlib.face_recognition_model_v1(str(resolve(model_name)))


@lru_cache(maxsize=None)
def dlib_hog_detector() -> Any:
    import dlib

    resolve("dlib-hog-face")  # checksum the compiled-in model before trusting it
    return dlib.get_frontal_face_detector()


@lru_cache(maxsize=None)
def onnx_session_dynamic(
    model_name: str, input_dims: tuple[tuple[str, tuple], ...] | None = None, threads: int | None = None
) -> Any:
    """An onnxruntime session for a model exported with fixed input sizes.

    Fully convolutional models (CenterFace) are exported at one resolution; relaxing
    the declared input dims to symbolic ones, in memory, lets one file serve every
    image size. The file on disk, and so its checksum, is untouched.
    """
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    path = resolve(model_name)
    try:
        model = onnx.load(str(path))
        inits = {i.name for i in model.graph.initializer}
        for inp in [i for i in model.graph.input if i.name in inits]:
            model.graph.input.remove(inp)  # lets onnxruntime constant-fold the weights
        if input_dims:
            outputs = {o.name: ["B", *[f"d{o.name}_{k}" for k in range(1, len(o.type.tensor_type.shape.dim))]] for o in model.graph.output}
            model = update_inputs_outputs_dims(model, {k: list(v) for k, v in input_dims}, outputs)
        ort = _onnxruntime()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or get_settings().threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        return ort.InferenceSession(model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"onnxruntime could not load {model_name} from {path}: {exc}") from None


class MediaPipeGraph:
    """One MediaPipe legacy solution, called safely from any thread.

    The graphs keep per-call state (not thread-safe); every MediaPipe adapter goes
    through here. Their native start-up logs are not silenced here: swapping file
    descriptor 2 around a call, once other threads run, can leave the process's
    stderr on /dev/null (see `clearsight._quiet_native_logs`).
    """

    def __init__(self, factory: Any) -> None:
        self.solution = factory()
        self._lock = threading.Lock()

    def process(self, rgb: Any) -> Any:
        with self._lock:
            return self.solution.process(rgb)

    def close(self) -> None:
        self.solution.close()
