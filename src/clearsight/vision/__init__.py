"""Perception primitives, one module each: detection, landmarks, alignment, embedding, quality."""

import inspect
import warnings
from collections.abc import Callable

# protobuf 4.25 warns on every MediaPipe graph start about an API MediaPipe 0.10.14
# still calls; the message says nothing actionable to our users.
warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)


def threads_option(factory: Callable[..., object], threads: int | None) -> dict[str, int]:
    """`{"threads": n}` for a backend factory that takes a thread count (onnxruntime ones), else
    nothing (MediaPipe and dlib thread on their own): what `create_detector` and
    `create_embedder` pass on for their `threads` argument."""
    if threads is None:
        return {}
    params = inspect.signature(factory).parameters
    takes = "threads" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
    return {"threads": threads} if takes else {}
