from __future__ import annotations

import pytest

from ..gallery.helpers import pg_schema_url
from .helpers import make_settings, open_facepay


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def store_url(request):
    if request.param == "sqlite":
        yield None
    else:
        with pg_schema_url() as url:
            yield url


@pytest.fixture
def settings(tmp_path, store_url):
    return make_settings(tmp_path, store_url)


@pytest.fixture
def fp(settings):
    with open_facepay(settings) as f:
        f.add_gate("A-in-1", "A", "in", actor="test")
        f.add_gate("A-in-2", "A", "in", actor="test")
        f.add_gate("A-out", "A", "out", actor="test")
        f.add_gate("B-out", "B", "out", actor="test")
        f.add_gate("B-in", "B", "in", actor="test")
        yield f


@pytest.fixture(autouse=True, scope="session")
def _one_faiss_thread():
    """OpenMP threads spinning on a shared 2-core machine make FAISS 10-100x slower."""
    import faiss

    faiss.omp_set_num_threads(1)
