"""The effects' models are registered with checksums that match the shipped files."""

from __future__ import annotations

import pytest

from clearsight.apps.effects.models import SPECS, ensure_registered
from clearsight.models import resolve

pytestmark = pytest.mark.unit


def test_every_effects_model_resolves_with_its_checksum():
    ensure_registered()
    for spec in SPECS:
        path = resolve(spec.name)  # raises ChecksumMismatchError on a changed file
        assert path.is_file() and spec.licence == "Apache-2.0"
