"""Shared fixtures. Integration tests read ../shared/data and skip cleanly without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CLEARSIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own data dir, so nothing touches ~/.local/share/clearsight.

    Built models (e.g. the ONNX conversion of dlib's ResNet) are cached in one
    session-wide dir, so they build once per run, not once per test.
    """
    from clearsight.config import get_settings

    data = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("CLEARSIGHT_DATA_DIR", str(data))
    models = tmp_path_factory.getbasetemp() / "models-cache"
    models.mkdir(exist_ok=True)
    (data / "models").symlink_to(models, target_is_directory=True)
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (set CLEARSIGHT_SHARED_DATA)")
    return SHARED_DATA


def data_path(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test with the reason."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared test data not found: {p}")
    return p
