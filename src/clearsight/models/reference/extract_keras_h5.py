"""Keras HDF5 model -> (model_config JSON, weights npz), run by `clearsight build-models`
inside its throw-away build venv (h5py + numpy only; h5py is never a run-time dependency).

Usage: python extract_keras_h5.py MODEL.h5 OUT_DIR
Writes OUT_DIR/config.json (the file's `model_config` attribute, verbatim, plus its
keras_version) and OUT_DIR/weights.npz ("layer/weight" -> array, float32).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import h5py
import numpy as np


def main(argv: list[str]) -> int:
    src, out = Path(argv[0]), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    with h5py.File(src, "r") as f:
        attr = f.attrs["model_config"]
        config = json.loads(attr.decode() if isinstance(attr, bytes) else attr)
        version = f.attrs.get("keras_version", b"")
        group = f["model_weights"]
        arrays: dict[str, np.ndarray] = {}
        for layer in group.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            g = group[layer]
            for wname in g.attrs["weight_names"]:
                wname = wname.decode() if isinstance(wname, bytes) else wname
                short = wname.split("/")[-1].split(":")[0]
                arrays[f"{layer}/{short}"] = np.asarray(g[wname], dtype=np.float32)
    (out / "config.json").write_text(json.dumps({
        "keras_version": version.decode() if isinstance(version, bytes) else str(version),
        "model_config": config}, sort_keys=True))
    np.savez(out / "weights.npz", **arrays)
    print(json.dumps({"layers": len(config["config"]["layers"]), "arrays": len(arrays)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
