"""Thin, cached constructors for the model runtimes (onnxruntime, dlib, mediapipe).

Loading a model costs 10-500 ms; every adapter asks here so each file is loaded
once per process however many detectors, pipelines or requests use it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from ..config import get_settings
from ..errors import ModelError
from .registry import resolve

_lock = threading.Lock()


@lru_cache(maxsize=None)
def onnx_session(model_name: str, threads: int | None = None) -> Any:
    import onnxruntime as ort

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
    import onnxruntime as ort
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
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or get_settings().threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        return ort.InferenceSession(model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"onnxruntime could not load {model_name} from {path}: {exc}") from None


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence C++ runtimes (TFLite, absl) that print banners straight to fd 2.

    MediaPipe prints "Created TensorFlow Lite XNNPACK delegate" and absl warnings
    when a graph starts; they are noise to a CLI user. Python exceptions still
    propagate normally; only the native writes during the block are dropped.
    """
    if os.environ.get("CLEARSIGHT_NATIVE_LOGS") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class MediaPipeGraph:
    """One MediaPipe legacy solution, called safely from any thread.

    The graphs keep per-call state (not thread-safe) and print start-up banners on
    construction and on the first frame; every MediaPipe adapter goes through here.
    """

    def __init__(self, factory: Any) -> None:
        with quiet_native_stderr():
            self.solution = factory()
        self._lock = threading.Lock()
        self._started = False

    def process(self, rgb: Any) -> Any:
        with self._lock:
            if self._started:
                return self.solution.process(rgb)
            with quiet_native_stderr():
                result = self.solution.process(rgb)
            self._started = True
            return result

    def close(self) -> None:
        self.solution.close()
