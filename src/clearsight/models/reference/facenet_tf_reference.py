"""Maintainer step: reference outputs of the Keras FaceNet weights, computed by TensorFlow.

Not part of setup and not imported by the platform. Runs in a venv with TensorFlow
(e.g. the human-models build venv) on the arrays `extract_keras_h5.py` wrote:

    python facenet_tf_reference.py ARRAYS_DIR INPUTS.npy OUT.json

Walks the Keras layer graph with TensorFlow's own kernels (tf.nn.conv2d with its
'SAME'/'VALID' padding, fused batch norm, max pool ...), NHWC as Keras ran it, so
the ONNX graph emitted by `clearsight.models.facenet.to_onnx` (NCHW, its own
padding attributes) is checked against an independent implementation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf


def forward(config: dict, weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    out: dict[str, tf.Tensor] = {}
    act = {"linear": lambda t: t, "relu": tf.nn.relu}
    for layer in config["config"]["layers"]:
        name, cls, cfg = layer["name"], layer["class_name"], layer["config"]
        ins = [out[s[0]] for s in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        if cls == "InputLayer":
            y = tf.constant(x)
        elif cls == "Conv2D":
            y = tf.nn.conv2d(ins[0], weights[f"{name}/kernel"], strides=[1, *cfg["strides"], 1],
                             padding=cfg["padding"].upper())
            if cfg["use_bias"]:
                y = tf.nn.bias_add(y, weights[f"{name}/bias"])
            y = act[cfg["activation"]](y)
        elif cls == "BatchNormalization":
            beta = weights[f"{name}/beta"]
            gamma = weights[f"{name}/gamma"] if cfg["scale"] else np.ones_like(beta)
            y = tf.nn.batch_normalization(ins[0], weights[f"{name}/moving_mean"], weights[f"{name}/moving_variance"],
                                          beta, gamma, cfg["epsilon"])
        elif cls == "Activation":
            y = act[cfg["activation"]](ins[0])
        elif cls == "MaxPooling2D":
            y = tf.nn.max_pool2d(ins[0], cfg["pool_size"], cfg["strides"], cfg["padding"].upper())
        elif cls == "Concatenate":
            y = tf.concat(ins, axis=-1)
        elif cls == "Lambda":
            y = ins[0] + ins[1] * cfg["arguments"]["scale"]
        elif cls == "GlobalAveragePooling2D":
            y = tf.reduce_mean(ins[0], axis=[1, 2])
        elif cls == "Dropout":
            y = ins[0]
        elif cls == "Dense":
            y = tf.matmul(ins[0], weights[f"{name}/kernel"])
            if cfg["use_bias"]:
                y = y + weights[f"{name}/bias"]
            y = act[cfg["activation"]](y)
        else:
            raise ValueError(f"{name}: {cls}")
        out[name] = y
    return out[config["config"]["output_layers"][0][0]].numpy()


def main(argv: list[str]) -> int:
    arrays, inputs, dest = Path(argv[0]), Path(argv[1]), Path(argv[2])
    config = json.loads((arrays / "config.json").read_text())["model_config"]
    with np.load(arrays / "weights.npz") as z:
        weights = {k: z[k] for k in z.files}
    y = forward(config, weights, np.load(inputs).astype(np.float32))
    dest.write_text(json.dumps({"tensorflow": tf.__version__, "outputs": [[float(f"{v:.7g}") for v in row] for row in y]},
                               indent=0) + "\n")
    print(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
