"""dlib's ResNet on onnxruntime is dlib's ResNet: same descriptors on real aligned faces,
same verification decisions. (Speed is measured by bench/verify.py, never asserted in tests.)"""

from __future__ import annotations

import numpy as np
import pytest

from clearsight.face.pipeline import FacePipeline
from clearsight.face.verification import operating_point, verify_embeddings
from clearsight.io import load_image
from clearsight.models import resolve
from clearsight.types import Decision, Embedding
from clearsight.vision.face_embedding import create_embedder

from tests.conftest import data_path

pytestmark = pytest.mark.integration

EXAMPLES = ("faces", "face_recognition_examples", "examples")
PHOTOS = ("obama.jpg", "obama2.jpg", "biden.jpg", "two_people.jpg", "obama_small.jpg", "alex-lacamoire.png")


@pytest.fixture(scope="module")
def pipe() -> FacePipeline:
    return FacePipeline(embedder="dlib-resnet-onnx")


def _aligned_chips(pipe: FacePipeline, rgb: np.ndarray) -> list[np.ndarray]:
    faces = pipe.detect(rgb)
    assert faces
    return [pipe.embedder.align(rgb, f) for f in faces]


@pytest.fixture(scope="module")
def chips(pipe) -> list[np.ndarray]:
    from skimage import data

    out = _aligned_chips(pipe, data.astronaut())
    for name in PHOTOS:
        out += _aligned_chips(pipe, load_image(data_path(*EXAMPLES, name)))
    assert len(out) >= 8
    return out


def test_onnx_descriptors_equal_dlibs_on_real_aligned_chips(chips):
    import dlib

    from clearsight.models import runtime

    dlib_net = dlib.face_recognition_model_v1(str(resolve("dlib-resnet-v1")))
    theirs = np.asarray(dlib_net.compute_face_descriptor(chips), np.float32)
    ours = runtime.onnx_session("dlib-resnet-v1-onnx").run(None, {"chips": np.stack(chips)})[0]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


@pytest.mark.parametrize("flip", [False, True])
def test_templates_are_interchangeable_with_the_dlib_embedder(chips, flip):
    suffix = "-flip" if flip else ""
    onnx_e, dlib_e = create_embedder(f"dlib-resnet-onnx{suffix}"), create_embedder(f"dlib-resnet{suffix}")
    assert onnx_e.model_id == dlib_e.model_id
    a, b = onnx_e.embed_chips(chips), dlib_e.embed_chips(chips)
    # the bound that lets the two share model_id and operating points
    assert np.abs(a - b).max() < 1e-4
    # and so a template of one verifies against a template of the other
    for va, vb in zip(a, b):
        assert verify_embeddings(Embedding(va, onnx_e.model_id), Embedding(vb, dlib_e.model_id)).similarity > 0.9999


def test_same_person_matches_and_different_people_do_not(pipe):
    threshold = operating_point("dlib-resnet-v1", "balanced").threshold
    obama, obama2, biden = (pipe.embed(load_image(data_path(*EXAMPLES, n))) for n in ("obama.jpg", "obama2.jpg", "biden.jpg"))
    same = verify_embeddings(obama, obama2, "balanced")
    other = verify_embeddings(obama, biden, "balanced")
    assert same.threshold == other.threshold == threshold
    assert same.decision is Decision.MATCH and same.similarity >= threshold
    assert other.decision is Decision.NO_MATCH and other.similarity < threshold
