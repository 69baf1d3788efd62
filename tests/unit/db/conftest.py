from __future__ import annotations

from collections.abc import Iterator

import pytest

from clearsight.config import Settings
from clearsight.settings import GallerySettings

from ..gallery.helpers import pg_schema_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def settings(request, tmp_path) -> Iterator[Settings]:
    """A fresh data dir; on PostgreSQL a fresh schema that both databases share (the events URL
    defaults to the gallery's there), dropped afterwards so parallel runs never meet."""
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path)
    else:
        with pg_schema_url() as url:
            yield Settings(data_dir=tmp_path, gallery=GallerySettings(database_url=url))
