from __future__ import annotations

import pytest

from .helpers import open_gallery, pg_schema_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def store_url(request):
    if request.param == "sqlite":
        yield None
    else:
        with pg_schema_url() as url:
            yield url


@pytest.fixture
def gallery(store_url):
    g = open_gallery(store_url)
    yield g
    g.close()
