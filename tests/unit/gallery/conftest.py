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


@pytest.fixture(autouse=True, scope="session")
def _one_faiss_thread():
    """OpenMP threads spinning on a shared 2-core machine make FAISS 10-100x slower."""
    import faiss

    faiss.omp_set_num_threads(1)


@pytest.fixture(scope="session")
def milvus_server_uri(tmp_path_factory):
    """One real Milvus server for the session (the index suite and the gallery on it), on
    free ports, its data in a temp dir; skips with the reason when it cannot start."""
    from tests.milvus_server import milvus_server, unavailable

    reason = unavailable()
    if reason:
        pytest.skip(reason)
    try:
        with milvus_server(tmp_path_factory.mktemp("milvus-server")) as uri:
            yield uri
    except RuntimeError as exc:
        pytest.skip(f"the Milvus server could not start here: {exc}")
