from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_faiss_thread():
    """OpenMP threads spinning on a shared 2-core machine make FAISS 10-100x slower."""
    import faiss

    faiss.omp_set_num_threads(1)
