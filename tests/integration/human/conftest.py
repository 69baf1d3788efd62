from __future__ import annotations

import pytest


@pytest.fixture
def built():
    """Skip (with the command to run) unless the human-models have been built and are intact."""
    from clearsight.models import human

    status = human._status(human.MODEL_NAMES, None)
    missing = {n: why for n, why in status.items() if why}
    if missing:
        pytest.skip(f"human-models not built ({missing}); run `clearsight build-models`")
    return human
