"""Eye openness from MediaPipe's iris/eye-contour model, on eye crops.

The face mesh regularises the lids towards an average face: on a closed eye it
often still reports a half-open slit (lid gap ~50-70% of the open one). The
dedicated eye model (`iris_landmark.tflite`, 71 eye-contour + 5 iris points on a
64x64 eye crop) follows the lids much more closely, and it is the same model that
runs on tight eye close-ups, so the eye-state accuracy measured on crops
(bench/dms.py) is the accuracy of the signal the monitor uses.

The tflite file ships inside the mediapipe wheel but no Python task exposes it.
It runs here through mediapipe's own calculator graph (ImageToTensor ->
Inference -> TensorsToLandmarks), i.e. the same runtime and pre-processing as
MediaPipe's iris pipeline, without any other tflite interpreter.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from ...errors import InputError, ModelError
from .models import IRIS_MODEL, ensure_registered
from .signals import contour_openness

CROP = 64
# MediaPipe's iris pipeline crops a square 2.3x the eye-corner distance.
CROP_SCALE = 2.3

_GRAPH = r"""
input_stream: "image"
output_stream: "contour"
node {
  calculator: "ImageToTensorCalculator"
  input_stream: "IMAGE:image"
  output_stream: "TENSORS:input_tensors"
  options: {
    [mediapipe.ImageToTensorCalculatorOptions.ext] {
      output_tensor_width: 64
      output_tensor_height: 64
      keep_aspect_ratio: false
      output_tensor_float_range { min: 0.0 max: 1.0 }
    }
  }
}
node {
  calculator: "InferenceCalculator"
  input_stream: "TENSORS:input_tensors"
  output_stream: "TENSORS:output_tensors"
  options: {
    [mediapipe.InferenceCalculatorOptions.ext] {
      model_path: "mediapipe/modules/iris_landmark/iris_landmark.tflite"
      delegate { xnnpack { num_threads: 1 } }
    }
  }
}
node {
  calculator: "SplitTensorVectorCalculator"
  input_stream: "output_tensors"
  output_stream: "eye_tensor"
  output_stream: "iris_tensor"
  options: {
    [mediapipe.SplitVectorCalculatorOptions.ext] {
      ranges: { begin: 0 end: 1 }
      ranges: { begin: 1 end: 2 }
    }
  }
}
node {
  calculator: "TensorsToLandmarksCalculator"
  input_stream: "TENSORS:eye_tensor"
  output_stream: "NORM_LANDMARKS:contour"
  options: {
    [mediapipe.TensorsToLandmarksCalculatorOptions.ext] {
      num_landmarks: 71
      input_image_width: 64
      input_image_height: 64
    }
  }
}
"""

# Default open/closed decision on `contour_openness` (lid gap / eye width) for a
# crop without a driver baseline. On the 292 staged eye crops the best single
# threshold lies between 0.19 and 0.205; 0.20 is the round value in that range
# (bench/dms.py also reports a 2-fold cross-validated accuracy so this choice is
# not scored on the data it came from).
CLOSED_BELOW = 0.20


class EyeContourModel:
    """RGB eye crop -> 71 eye-contour points (normalised to the crop)."""

    def __init__(self) -> None:
        from google.protobuf import text_format
        from mediapipe.framework import calculator_pb2
        from mediapipe.python.solution_base import SolutionBase

        ensure_registered()
        from ...models import resolve

        resolve(IRIS_MODEL)  # checksum before trusting the file the graph loads
        try:
            cfg = text_format.Parse(_GRAPH, calculator_pb2.CalculatorGraphConfig())
            self._graph = SolutionBase(graph_config=cfg, outputs=["contour"])
        except Exception as exc:  # pragma: no cover - a broken mediapipe install
            raise ModelError(f"could not start the iris landmark graph: {exc}") from None
        self._lock = threading.Lock()

    def contour(self, crop: np.ndarray, n: int = 71) -> np.ndarray:
        """The first `n` contour points (the lid contour is the first 16; reading
        protobuf landmarks costs more than the model, so callers ask for what they use)."""
        if crop.ndim != 3 or crop.shape[2] != 3 or crop.shape[0] < 4 or crop.shape[1] < 4:
            raise InputError(f"an RGB eye crop is needed, got shape {crop.shape}")
        with self._lock:
            res = self._graph.process({"image": np.ascontiguousarray(crop)})
        lm = res.contour.landmark
        return np.array([[lm[i].x, lm[i].y] for i in range(min(n, len(lm)))], dtype=np.float32)

    def openness(self, crop: np.ndarray, both_orientations: bool = False) -> float:
        """Lid gap / eye width on a crop. The model expects a driver's-right eye; a
        left eye is mirrored by the caller, or `both_orientations` averages both."""
        o = contour_openness(self.contour(crop, 16))
        if both_orientations:
            o = (o + contour_openness(self.contour(np.ascontiguousarray(crop[:, ::-1]), 16))) / 2.0
        return o

    def close(self) -> None:
        self._graph.close()


def eye_crop(rgb: np.ndarray, corner_a: np.ndarray, corner_b: np.ndarray, mirror: bool = False) -> np.ndarray:
    """A 64x64 crop centred on the eye, rotated so the corners are level, as MediaPipe does."""
    a, b = np.asarray(corner_a[:2], np.float64), np.asarray(corner_b[:2], np.float64)
    if a[0] > b[0]:
        a, b = b, a
    centre = (a + b) / 2.0
    width = max(float(np.linalg.norm(b - a)), 1.0)
    angle = float(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0])))
    scale = CROP / (CROP_SCALE * width)
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, scale)
    m[:, 2] += np.array([CROP / 2.0, CROP / 2.0]) - centre
    crop = cv2.warpAffine(rgb, m, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(crop[:, ::-1]) if mirror else crop
