"""The vector-index interface: the gallery talks to FAISS and Milvus the same way.

Vectors are L2-normalised and already in the protected (key-transformed) domain;
scores are inner products (= cosine). Ids are the store's template ids (int64).
The index is derived data: `reconcile` makes it agree with the store again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

import numpy as np

from ...errors import UnknownBackendError


@runtime_checkable
class VectorIndex(Protocol):
    dim: int

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> int: ...

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n, k); missing hits are id -1, score -inf.
        `allowed` restricts hits to those ids."""
        ...

    def ids(self) -> np.ndarray: ...

    def __len__(self) -> int: ...

    def persist(self) -> None: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...

    def describe(self) -> dict: ...


def as_ids(ids) -> np.ndarray:  # noqa: ANN001
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


def as_vectors(vectors: np.ndarray, dim: int) -> np.ndarray:
    v = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if v.ndim == 1:
        v = v.reshape(1, -1)
    if v.shape[1] != dim:
        from ...errors import InputError

        raise InputError(f"vector dimension {v.shape[1]} does not match the index ({dim})")
    return v


def rebuild(index: VectorIndex, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> int:
    """Empty the index and refill it from the store."""
    index.reset()
    n = 0
    for ids, vecs in batches:
        index.add(ids, vecs)
        n += len(ids)
    return n


def reconcile(index: VectorIndex, store_ids: np.ndarray, fetch: Callable[[np.ndarray], np.ndarray],
              batch: int = 10_000) -> tuple[int, int]:
    """Add what the store has and the index lacks, drop what the store no longer has.
    Returns (added, removed)."""
    store_ids = as_ids(store_ids)
    have = index.ids()
    extra = np.setdiff1d(have, store_ids, assume_unique=False)
    missing = np.setdiff1d(store_ids, have, assume_unique=False)
    if len(extra):
        index.remove(extra)
    for i in range(0, len(missing), batch):
        chunk = missing[i : i + batch]
        index.add(chunk, fetch(chunk))
    return int(len(missing)), int(len(extra))


def create_index(kind: str, dim: int, **options) -> VectorIndex:  # noqa: ANN003
    if kind in ("auto", "flat", "compressed"):
        from .faiss_index import FaissIndex

        return FaissIndex(dim, kind=kind, **{k: v for k, v in options.items() if k in FaissIndex.OPTIONS})
    if kind == "milvus":
        from .milvus_index import MilvusIndex

        return MilvusIndex(dim, **{k: v for k, v in options.items() if k in MilvusIndex.OPTIONS})
    raise UnknownBackendError(f"unknown vector index {kind!r}; choose from auto, flat, compressed, milvus")
