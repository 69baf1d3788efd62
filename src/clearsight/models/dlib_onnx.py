"""dlib's ResNet-29 face embedder, converted to ONNX at setup from the installed package.

`dlib_face_recognition_resnet_model_v1.dat` (shipped by `face_recognition_models`)
is dlib's binary serialisation of the network `anet_type` of dlib's
`dnn_face_recognition_ex.cpp`. dlib without BLAS runs it at ~70 ms per face;
onnxruntime runs the same weights several times faster. Nothing is downloaded:
`build()` reads the checksummed `.dat` through the registry, parses it and writes
an equivalent ONNX graph, byte for byte the same on every run (its sha256 is
pinned in `SPECS`).

The network, top (output) to bottom (input)::

    loss_metric            (training only: the 128-d output is the descriptor)
    fc_no_bias 256 -> 128
    avg_pool_everything
    level0: ares_down 256
    level1: ares 256, ares 256, ares_down 256
    level2: ares 128, ares 128, ares_down 128
    level3: ares 64 x3, ares_down 64
    level4: ares 32 x3
    max_pool 3x3 /2, relu, affine, con 32 7x7 /2
    input_rgb_image_sized<150>: (pixel - channel mean) / 256, RGB planes

    block(N, s)   = affine . con N 3x3 /1 . relu . affine . con N 3x3 /s
    ares(N)       = relu(block(N, 1)(x) + x)
    ares_down(N)  = relu(block(N, 2)(x) + avg_pool 2x2 /2 (x))

Strided convolutions and pools have no padding (dlib's default for stride != 1),
so the two branches of `ares_down` can disagree in size (3x3 vs 4x4 at level1,
1x1 vs 2x2 at level0) and always disagree in channels below level0. dlib's
`add_prev` then sums into the larger shape, reading missing elements as zero
(the smaller tensor sits at channel 0, row 0, column 0): the graph zero-pads
both operands to the common shape at the end of each axis.

Serialisation facts this parser relies on (observed in the pinned file and
checked while parsing, so a different file fails loudly instead of loading
wrong weights):

* integers: one byte whose low nibble is the byte count and bit 7 the sign,
  then the magnitude, little endian;
* scalar floats: an integer mantissa and an integer exponent (m * 2**e);
* strings: an integer length, then the bytes;
* bools: the characters '0' / '1';
* tensors: version 2, (num_samples, k, nr, nc), then raw little-endian float32;
* a network: each wrapper writes its version and its sub-network *before* its
  own layer, so the wrappers' versions come first (top down) and the layers'
  details follow bottom up; tag and skip wrappers write only their version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .registry import ModelSpec

SOURCE_MODEL = "dlib-resnet-v1"
ONNX_MODEL = "dlib-resnet-v1-onnx"
INPUT_NAME = "chips"  # (N, 150, 150, 3) uint8 RGB, the aligned chips as they come
OUTPUT_NAME = "descriptors"  # (N, 128) float32, dlib's raw (unnormalised) descriptors
CHIP_SIZE = 150
# Bumped whenever the emitted graph changes; part of the file, hence of its sha256.
CONVERTER_VERSION = "1"
OPSET = 13
IR_VERSION = 7
# sha256 of build()'s output with the pinned onnx / protobuf / numpy and the pinned
# source file; a change of any of them that changes the bytes shows up as a
# checksum error, and `python -m clearsight.models.registry` prints the new value.
ONNX_SHA256 = "372b4c92dea099f98f1e9b6846ca4e930484ee6bd6c210a64f1ae0140931b2c1"


class DlibFormatError(ValueError):
    """The .dat file is not the network this converter understands."""


# --------------------------------------------------------------------------------------
# dlib's serialisation primitives


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DlibFormatError(f"unexpected end of file at byte {self.pos} (wanted {n} more)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def integer(self) -> int:
        head = self._take(1)[0]
        size = head & 0x0F
        if size > 8 or head & 0x70:
            raise DlibFormatError(f"bad integer header 0x{head:02x} at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if head & 0x80 else value

    def real(self) -> float:
        mantissa = self.integer()
        exponent = self.integer()
        if exponent >= 32000:  # dlib's markers for inf / -inf / nan
            raise DlibFormatError(f"non-finite float in the model at byte {self.pos}")
        return float(mantissa) * 2.0**exponent

    def string(self) -> str:
        n = self.integer()
        if not 0 <= n < 1 << 16:
            raise DlibFormatError(f"implausible string length {n} at byte {self.pos}")
        raw = self._take(n)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise DlibFormatError(f"non-ASCII layer name at byte {self.pos - n}") from None

    def boolean(self) -> bool:
        c = self._take(1)
        if c not in (b"0", b"1"):
            raise DlibFormatError(f"bad bool {c!r} at byte {self.pos - 1}")
        return c == b"1"

    def tensor(self) -> np.ndarray:
        self.expect_version(2, "tensor")
        dims = tuple(self.integer() for _ in range(4))
        count = int(np.prod(dims))
        raw = self._take(4 * count)
        return np.frombuffer(raw, dtype="<f4").reshape(dims).astype(np.float32)

    def alias(self) -> tuple[int, int, int, int]:
        self.expect_version(1, "alias_tensor")
        return tuple(self.integer() for _ in range(4))  # type: ignore[return-value]

    def expect_version(self, want: int, what: str) -> None:
        got = self.integer()
        if got != want:
            raise DlibFormatError(f"{what}: serialisation version {got}, expected {want} (byte {self.pos})")


# --------------------------------------------------------------------------------------
# The architecture: a top-down list of the wrappers dlib's template nests.


@dataclass(frozen=True)
class _Wrap:
    kind: str  # "layer", "tag", "skip", "input" (the bottom add_layer, which holds the input layer)
    layer: str = ""  # the serialised type name the layer's details start with
    tag: int = 0  # tag id for tag / skip / add_prev


def _block() -> list[_Wrap]:
    # affine . con 3x3 /1 . relu . affine . con 3x3 /s   (top down; s is read from the file)
    return [_Wrap("layer", "affine_"), _Wrap("layer", "con_4"), _Wrap("layer", "relu_"),
            _Wrap("layer", "affine_"), _Wrap("layer", "con_4")]


def _ares() -> list[_Wrap]:
    return [_Wrap("layer", "relu_"), _Wrap("layer", "add_prev_", tag=1), *_block(), _Wrap("tag", tag=1)]


def _ares_down() -> list[_Wrap]:
    return [
        _Wrap("layer", "relu_"),
        _Wrap("layer", "add_prev_", tag=2),
        _Wrap("layer", "avg_pool_2"),
        _Wrap("skip", tag=1),
        _Wrap("tag", tag=2),
        *_block(),
        _Wrap("tag", tag=1),
    ]


def architecture() -> list[_Wrap]:
    """anet_type of dnn_face_recognition_ex.cpp, outermost wrapper first."""
    levels = [
        [_ares_down()],  # level0: 256
        [_ares(), _ares(), _ares_down()],  # level1: 256
        [_ares(), _ares(), _ares_down()],  # level2: 128
        [_ares(), _ares(), _ares(), _ares_down()],  # level3: 64
        [_ares(), _ares(), _ares()],  # level4: 32
    ]
    out = [_Wrap("layer", "fc_2"), _Wrap("layer", "avg_pool_2")]
    for level in levels:
        for unit in level:
            out.extend(unit)
    out += [_Wrap("layer", "max_pool_2"), _Wrap("layer", "relu_"), _Wrap("layer", "affine_"), _Wrap("input", "con_4")]
    return out


# --------------------------------------------------------------------------------------
# Parsing


@dataclass
class Layer:
    """One parsed layer, bottom-up order; `kind` is dlib's type name or tag / skip."""

    kind: str
    tag: int = 0
    params: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, object] = field(default_factory=dict)


@dataclass
class DlibNet:
    means: tuple[float, float, float]  # avg_red, avg_green, avg_blue of input_rgb_image_sized
    size: tuple[int, int]
    layers: list[Layer]  # bottom (input side) first
    loss: dict[str, float]


def _split(params: np.ndarray, *dims: tuple[int, ...]) -> list[np.ndarray]:
    flat = params.reshape(-1)
    need = sum(int(np.prod(d)) for d in dims)
    if flat.size != need:
        raise DlibFormatError(f"parameter block holds {flat.size} values, the layer needs {need}")
    out, at = [], 0
    for d in dims:
        n = int(np.prod(d))
        out.append(flat[at : at + n].reshape(d))
        at += n
    return out


def _read_details(r: _Reader, want: str) -> Layer:
    kind = r.string()
    if kind != want:
        raise DlibFormatError(f"expected layer {want!r}, found {kind!r} at byte {r.pos}")
    layer = Layer(kind)
    if kind == "con_4":
        params = r.tensor()
        n_filters, nr, nc, sy, sx, py, px = (r.integer() for _ in range(7))
        fdims, bdims = r.alias(), r.alias()
        multipliers = [r.real() for _ in range(4)]  # learning-rate / weight-decay: training only
        del multipliers
        if bdims != (1, n_filters, 1, 1) or fdims[0] != n_filters or fdims[2:] != (nr, nc):
            raise DlibFormatError(f"con_4: inconsistent shapes {fdims} / {bdims}")
        w, b = _split(params, fdims, (n_filters,))
        layer.params = {"weight": w, "bias": b}
        layer.attrs = {"kernel": (nr, nc), "stride": (sy, sx), "pad": (py, px)}
    elif kind == "affine_":
        params = r.tensor()
        gdims, bdims = r.alias(), r.alias()
        mode = r.integer()
        if mode != 0 or gdims != bdims or gdims[0] != 1 or gdims[2:] != (1, 1):
            raise DlibFormatError(f"affine_: only per-channel (conv mode) is supported, got mode {mode}, {gdims}")
        gamma, beta = _split(params, (gdims[1],), (bdims[1],))
        layer.params = {"gamma": gamma, "beta": beta}
    elif kind in ("max_pool_2", "avg_pool_2"):
        nr, nc, sy, sx, py, px = (r.integer() for _ in range(6))
        layer.attrs = {"kernel": (nr, nc), "stride": (sy, sx), "pad": (py, px)}
    elif kind == "fc_2":
        n_out, n_in = r.integer(), r.integer()
        params = r.tensor()
        wdims, bdims = r.alias(), r.alias()
        bias_mode = r.integer()
        multipliers = [r.real() for _ in range(4)]
        del multipliers
        if bias_mode != 1 or wdims != (n_in, n_out, 1, 1) or bdims != (0, 0, 0, 0):
            raise DlibFormatError(f"fc_2: expected fc_no_bias {n_in}->{n_out}, got mode {bias_mode} {wdims} {bdims}")
        (w,) = _split(params, (n_in, n_out))
        layer.params = {"weight": w}
    elif kind in ("relu_", "add_prev_"):
        pass
    else:  # pragma: no cover - guarded by the architecture check above
        raise DlibFormatError(f"unsupported layer {kind!r}")
    return layer


def _read_state(r: _Reader) -> None:
    """What add_layer writes after its layer: training flags and (empty) work tensors."""
    for _ in range(3):
        r.boolean()
    for _ in range(3):
        t = r.tensor()
        if t.size:
            raise DlibFormatError("a saved network should carry no cached outputs or gradients")


def parse(data: bytes) -> DlibNet:
    """Parse dlib's serialised anet_type (the whole .dat file)."""
    r = _Reader(data)
    r.expect_version(1, "loss layer")
    if (loss_kind := r.string()) != "loss_metric_2":
        raise DlibFormatError(f"expected loss_metric_2, found {loss_kind!r}")
    loss = {"margin": r.real(), "distance_threshold": r.real()}

    arch = architecture()
    for w in arch:  # versions, top down
        r.expect_version({"layer": 2, "tag": 1, "skip": 1, "input": 3}[w.kind], f"{w.kind} wrapper")

    if (inp := r.string()) != "input_rgb_image_sized":
        raise DlibFormatError(f"expected input_rgb_image_sized, found {inp!r}")
    means = (r.real(), r.real(), r.real())
    size = (r.integer(), r.integer())
    if size != (CHIP_SIZE, CHIP_SIZE):
        raise DlibFormatError(f"expected {CHIP_SIZE}x{CHIP_SIZE} input, found {size}")

    layers: list[Layer] = []
    for i, w in enumerate(reversed(arch)):  # details, bottom up
        if w.kind in ("tag", "skip"):
            layers.append(Layer(w.kind, tag=w.tag))
            continue
        layer = _read_details(r, w.layer)
        layer.tag = w.tag
        layers.append(layer)
        _read_state(r)
        if i == 0:
            r.integer()  # the bottom wrapper also records its sample expansion factor
    if r.pos != len(data):
        raise DlibFormatError(f"{len(data) - r.pos} trailing bytes after the network")
    return DlibNet(means=means, size=size, layers=layers, loss=loss)


# --------------------------------------------------------------------------------------
# ONNX emission


def _pool_out(n: int, k: int, s: int, p: int) -> int:
    return 1 + (n + 2 * p - k) // s


def to_onnx(net: DlibNet, source_sha256: str = "") -> Any:
    """An ONNX graph computing exactly what dlib computes, chips in, descriptors out.

    affine layers are folded into the convolution before them (in float64, rounded
    once), which is exact up to float32 rounding.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    inits: list = []
    counter = {"n": 0}

    def name(prefix: str) -> str:
        counter["n"] += 1
        return f"{prefix}_{counter['n']}"

    def const(prefix: str, arr: np.ndarray) -> str:
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), n))
        return n

    def node(op: str, inputs: list[str], **attrs: object) -> str:
        out = name(op.lower())
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    # input_rgb_image_sized: planes R, G, B of (pixel - mean) / 256
    x = node("Cast", [INPUT_NAME], to=TensorProto.FLOAT)
    x = node("Transpose", [x], perm=[0, 3, 1, 2])
    mean = np.asarray(net.means, dtype=np.float32).reshape(1, 3, 1, 1)
    x = node("Sub", [x, const("mean", mean)])
    x = node("Mul", [x, const("scale", np.full((1, 1, 1, 1), 1.0 / 256.0, np.float32))])
    shape = (3, *net.size)  # (C, H, W) of the current tensor

    tags: dict[int, tuple[str, tuple[int, int, int]]] = {}
    layers = net.layers
    i = 0
    while i < len(layers):
        layer = layers[i]
        k = layer.kind
        if k == "tag":
            tags[layer.tag] = (x, shape)
        elif k == "skip":
            x, shape = tags[layer.tag]
        elif k == "con_4":
            w = layer.params["weight"].astype(np.float64)
            b = layer.params["bias"].astype(np.float64)
            if i + 1 < len(layers) and layers[i + 1].kind == "affine_":
                g = layers[i + 1].params["gamma"].astype(np.float64)
                beta = layers[i + 1].params["beta"].astype(np.float64)
                w = w * g[:, None, None, None]
                b = b * g + beta
                i += 1
            (kh, kw), (sy, sx), (py, px) = layer.attrs["kernel"], layer.attrs["stride"], layer.attrs["pad"]
            if w.shape[1] != shape[0]:
                raise DlibFormatError(f"con_4 expects {w.shape[1]} channels, gets {shape[0]}")
            x = node(
                "Conv", [x, const("w", w.astype(np.float32)), const("b", b.astype(np.float32))],
                kernel_shape=[kh, kw], strides=[sy, sx], pads=[py, px, py, px],
            )
            shape = (w.shape[0], _pool_out(shape[1], kh, sy, py), _pool_out(shape[2], kw, sx, px))
        elif k == "affine_":  # not after a convolution (does not occur in this network)
            g = layer.params["gamma"].reshape(1, -1, 1, 1)
            x = node("Mul", [x, const("gamma", g.astype(np.float32))])
            x = node("Add", [x, const("beta", layer.params["beta"].reshape(1, -1, 1, 1).astype(np.float32))])
        elif k == "relu_":
            x = node("Relu", [x])
        elif k in ("max_pool_2", "avg_pool_2"):
            (kh, kw), (sy, sx), (py, px) = layer.attrs["kernel"], layer.attrs["stride"], layer.attrs["pad"]
            if kh == 0 and kw == 0:  # avg_pool_everything
                if k != "avg_pool_2":
                    raise DlibFormatError("max_pool_everything is not supported")
                x = node("GlobalAveragePool", [x])
                shape = (shape[0], 1, 1)
            else:
                if py or px:
                    raise DlibFormatError("padded pooling is not supported (dlib counts padding differently)")
                op = "MaxPool" if k == "max_pool_2" else "AveragePool"
                x = node(op, [x], kernel_shape=[kh, kw], strides=[sy, sx], pads=[0, 0, 0, 0])
                shape = (shape[0], _pool_out(shape[1], kh, sy, 0), _pool_out(shape[2], kw, sx, 0))
        elif k == "add_prev_":
            other, other_shape = tags[layer.tag]
            common = tuple(max(a, b) for a, b in zip(shape, other_shape))

            def padded(t: str, s: tuple[int, int, int]) -> str:
                if s == common:
                    return t
                pads = np.array([0, 0, 0, 0, 0, *(c - v for c, v in zip(common, s))], dtype=np.int64)
                return node("Pad", [t, const("pads", pads)], mode="constant")

            x = node("Add", [padded(x, shape), padded(other, other_shape)])
            shape = common
        elif k == "fc_2":
            w = layer.params["weight"]
            if w.shape[0] != int(np.prod(shape)):
                raise DlibFormatError(f"fc_2 expects {w.shape[0]} inputs, gets {shape}")
            x = node("Flatten", [x], axis=1)
            x = node("MatMul", [x, const("fc", w.astype(np.float32))])
            shape = (w.shape[1],)
        else:
            raise DlibFormatError(f"no ONNX mapping for {k!r}")
        i += 1

    nodes.append(helper.make_node("Identity", [x], [OUTPUT_NAME], name="output"))
    graph = helper.make_graph(
        nodes,
        "dlib_resnet_v1",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.UINT8, ["N", net.size[0], net.size[1], 3])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", shape[0]])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="clearsight.models.dlib_onnx",
        producer_version=CONVERTER_VERSION,
        doc_string=(
            "dlib_face_recognition_resnet_model_v1 (dlib ResNet-29, 128-d face descriptor) converted from "
            "face_recognition_models==0.3.0. Input: aligned 150x150 RGB chips, uint8, NHWC. "
            "Output: dlib's descriptors (not L2-normalised)."
        ),
    )
    model.ir_version = IR_VERSION
    for key, value in (("source", "face_recognition_models==0.3.0:models/dlib_face_recognition_resnet_model_v1.dat"),
                       ("source_sha256", source_sha256), ("licence", "CC0-1.0")):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return model


def convert(source: Path) -> bytes:
    """The ONNX file's bytes for a dlib .dat file (deterministic)."""
    data = Path(source).read_bytes()
    model = to_onnx(parse(data), hashlib.sha256(data).hexdigest())
    return model.SerializeToString(deterministic=True)


def build(dest: Path) -> None:
    """Registry builder: convert the checksummed package file into `dest`."""
    from .registry import resolve

    payload = convert(resolve(SOURCE_MODEL))
    Path(dest).write_bytes(payload)


SPECS = (
    ModelSpec(
        name=ONNX_MODEL,
        task="face-embedding",
        kind="built",
        builder="clearsight.models.dlib_onnx:build",
        file="dlib_resnet_v1.onnx",
        sha256=ONNX_SHA256,
        licence="CC0-1.0",
        source="face_recognition_models==0.3.0 (converted by clearsight)",
        input={"chip": CHIP_SIZE, "padding": 0.25, "color": "RGB", "layout": "NHWC uint8", "runtime": "onnxruntime"},
        notes="dlib ResNet-29 (128-d) as ONNX, built offline from dlib-resnet-v1 by clearsight.models.dlib_onnx",
    ),
)
