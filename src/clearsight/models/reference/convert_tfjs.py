"""TFJS graph model -> ONNX, run by `clearsight build-models` inside its throw-away build venv.

Not imported by the platform: TensorFlow is a build-time tool only. Usage:
    python convert_tfjs.py MODELS_DIR OUT_DIR NAME [NAME ...]
Prints one JSON line per model. tf2onnx's own `--tfjs` reader does the work; three
shims make tf2onnx 1.17 agree with TensorFlow 2.21 and numpy 2 (each explained below).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

# tf2onnx 1.17's tfjs reader still calls np.product, which numpy 2 removed.
if not hasattr(np, "product"):
    np.product = np.prod  # type: ignore[attr-defined]

import tensorflow as tf  # noqa: E402
from tf2onnx import convert as t2o  # noqa: E402
from tf2onnx import tfjs_utils  # noqa: E402

_node_def = tfjs_utils.tfjs_node_to_tf_node_def


def _node_def_with_targs(node):  # type: ignore[no-untyped-def]
    # Newer TensorFlow declares _FusedConv2D's extra inputs through attr TArgs, which
    # graphs exported by older TFJS converters lack; shape inference then fails.
    nd = _node_def(node)
    if nd.op == "_FusedConv2D" and "TArgs" not in nd.attr and "T" in nd.attr:
        n = nd.attr["num_args"].i if "num_args" in nd.attr else 1
        nd.attr["TArgs"].list.type.extend([nd.attr["T"].type] * n)
    return nd


tfjs_utils.tfjs_node_to_tf_node_def = _node_def_with_targs

_names_dtypes = tfjs_utils.get_output_names_and_dtypes


def _names_dtypes_with_defaults(op_type, tf_attr, inp_dtypes):  # type: ignore[no-untyped-def]
    # Newer op definitions add attributes (TopKV2.index_type ...) absent from old
    # graphs; fill them with the op definition's own defaults.
    try:
        od = tfjs_utils.tf_api_def_map.get_op_def(op_type)
        for a in od.attr:
            if a.name not in tf_attr and a.HasField("default_value"):
                kind = a.default_value.WhichOneof("value")
                if kind == "type":
                    tf_attr[a.name] = a.default_value.type
                elif kind in ("i", "f", "b"):
                    tf_attr[a.name] = getattr(a.default_value, kind)
    except ValueError:
        pass
    return _names_dtypes(op_type, tf_attr, inp_dtypes)


tfjs_utils.get_output_names_and_dtypes = _names_dtypes_with_defaults
logging.getLogger("tf2onnx").setLevel(logging.ERROR)


def convert(json_path: str, out_path: str, opset: int = 17) -> float:
    t0 = time.time()
    with tf.device("/cpu:0"):
        t2o._convert_common(
            None, name=json_path, opset=opset, tfjs_path=json_path, output_path=out_path,
            continue_on_error=False, input_names=None, output_names=None,
        )
    return time.time() - t0


def main(argv: list[str]) -> int:
    mdir, odir, names = argv[0], argv[1], argv[2:]
    os.makedirs(odir, exist_ok=True)
    failed = 0
    for name in names:
        try:
            dt = convert(os.path.join(mdir, name + ".json"), os.path.join(odir, name + ".onnx"))
            print(json.dumps({"model": name, "ok": True, "seconds": round(dt, 2)}), flush=True)
        except Exception as exc:  # reported to the parent, which raises a typed error
            failed += 1
            print(json.dumps({"model": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
