"""The installed ONNX files reproduce the conversion reference outputs."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["nanodet", "centernet", "movenet-multipose", "antispoof", "liveness", "emotion", "faceres",
                                  "faceres-deep", "mobileface", "mobilefacenet"])
def test_outputs_match_reference(built, name):
    from clearsight.models import resolve

    got = built.run_reference(resolve(name), name)
    assert built.compare_reference(got, built.load_reference()[name]) == []
