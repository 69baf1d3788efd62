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
    """Every test gets its own data dir, so nothing touches the user's data.

    Built models stay where the setup built them (the default models dir), so the
    suite reuses that cache instead of converting models per test.
    """
    from clearsight.config import Settings, get_settings

    if "CLEARSIGHT_MODELS_DIR" not in os.environ:
        monkeypatch.setenv("CLEARSIGHT_MODELS_DIR", str(Settings().model_dir))
    data = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("CLEARSIGHT_DATA_DIR", str(data))
    monkeypatch.setenv("CLEARSIGHT_SECRETS_DIR", str(tmp_path_factory.mktemp("secrets")))
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
