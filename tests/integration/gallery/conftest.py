from __future__ import annotations

import pytest

from tests.conftest import data_path


@pytest.fixture(autouse=True, scope="session")
def _one_faiss_thread():
    """OpenMP threads spinning on a shared 2-core machine make FAISS 10-100x slower."""
    import faiss

    faiss.omp_set_num_threads(1)


def img(name: str, n: int):  # noqa: ANN201
    """The n-th LFW photo of a person (lfw_gray): real faces with known identities."""
    return data_path("faces", "lfw_gray", "images", name, f"{name}_{n:04d}.jpg")


@pytest.fixture(scope="module")
def pipeline():
    from clearsight.face.pipeline import FacePipeline

    return FacePipeline()
