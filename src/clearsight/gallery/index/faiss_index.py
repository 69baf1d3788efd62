"""FAISS index: exact inner-product search while small, compressed when large.

Exact (`IDMap2,Flat`) costs 4*d bytes per vector and scans everything; once the
gallery passes `exact_max` vectors (`kind="auto"`) it is re-encoded into a compressed
index (default `PQ128x4fs,Refine(SQ8)`: a 4-bit fast-scan PQ shortlist
re-ranked with 8-bit scalar codes; the gallery then re-ranks its final shortlist
exactly from the store). Compressed FAISS indexes cannot remove vectors or filter
by id, so removals are tombstones (filtered out, folded in on the next rebuild)
and id filters widen the shortlist until enough allowed hits are found.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import faiss
import numpy as np

from ..errors import GalleryIndexError
from .base import as_ids, as_vectors


class FaissIndex:
    OPTIONS = ("path", "exact_max", "factory", "k_factor", "threads")

    def __init__(self, dim: int, *, kind: str = "auto", path: Path | str | None = None, exact_max: int = 250_000,
                 factory: str = "PQ128x4fs,Refine(SQ8)", k_factor: int = 4, threads: int | None = None) -> None:
        self.dim = int(dim)
        self.kind = kind
        self.path = Path(path) if path else None
        self.exact_max = int(exact_max)
        self.factory = factory
        self.k_factor = int(k_factor)
        self._lock = threading.RLock()
        self._tomb: set[int] = set()
        if threads:
            faiss.omp_set_num_threads(int(threads))
        self._index = self._new_flat()
        if self.path and self.path.exists():
            self._load()
        elif kind == "compressed":
            self._compressed = False  # trained on the first add of enough vectors

    # -- construction ------------------------------------------------------
    def _new_flat(self) -> faiss.Index:
        self._compressed = False
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def _train_compressed(self, vectors: np.ndarray) -> faiss.Index:
        idx = faiss.index_factory(self.dim, "IDMap2," + self.factory, faiss.METRIC_INNER_PRODUCT)
        if len(vectors) > 200_000:  # enough to train PQ/OPQ; keeps training bounded
            sel = np.random.default_rng(0).choice(len(vectors), 200_000, replace=False)
            vectors = vectors[np.sort(sel)]
        idx.train(vectors)
        sub = faiss.downcast_index(idx.index)
        if hasattr(sub, "k_factor"):
            sub.k_factor = self.k_factor
        return idx

    def _all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        vecs = self._index.index.reconstruct_n(0, self._index.ntotal) if len(ids) else np.zeros((0, self.dim), np.float32)
        return ids, vecs

    def _maybe_compress(self) -> None:
        want = self.kind == "compressed" or (self.kind == "auto" and self._index.ntotal > self.exact_max)
        if self._compressed or not want or self._index.ntotal < 1024:
            return
        ids, vecs = self._all_vectors()
        idx = self._train_compressed(vecs)
        idx.add_with_ids(vecs, ids)
        self._index, self._compressed = idx, True

    # -- interface -----------------------------------------------------------
    def add(self, ids, vectors) -> None:  # noqa: ANN001
        ids, vectors = as_ids(ids), as_vectors(vectors, self.dim)
        if len(ids) != len(vectors):
            raise GalleryIndexError("ids and vectors differ in length")
        if not len(ids):
            return
        with self._lock:
            if self._tomb:
                back = self._tomb.intersection(ids.tolist())
                if back:  # re-adding a tombstoned id: drop the stale copy first
                    self._fold_tombstones()
            present = np.isin(ids, self._id_array())
            if present.any():
                self._remove_now(ids[present])
            self._index.add_with_ids(vectors, ids)
            self._maybe_compress()

    def _id_array(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def _remove_now(self, ids: np.ndarray) -> int:
        if not self._compressed:
            return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))
        present = np.intersect1d(self._id_array(), ids)
        self._tomb.update(int(i) for i in present)
        if len(self._tomb) > max(1000, self._index.ntotal // 20):
            self._fold_tombstones()
        return int(len(present))

    def _fold_tombstones(self) -> None:
        """Re-encode without tombstoned vectors (compressed codes are decoded: the
        store-driven `rebuild` is the exact way; this keeps the index usable)."""
        ids = self._id_array()
        keep = ~np.isin(ids, np.fromiter(self._tomb, dtype=np.int64, count=len(self._tomb)))
        vecs = self._index.index.reconstruct_n(0, self._index.ntotal)
        # reuse the trained quantisers: clone the trained index and empty it
        idx = faiss.clone_index(self._index)
        idx.reset()
        idx.add_with_ids(np.ascontiguousarray(vecs[keep]), ids[keep])
        self._index = idx
        self._tomb.clear()

    def remove(self, ids) -> int:  # noqa: ANN001
        ids = as_ids(ids)
        with self._lock:
            return self._remove_now(ids) if len(ids) else 0

    def search(self, queries, k: int, allowed=None) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
        q = as_vectors(queries, self.dim)
        k = int(k)
        out_s = np.full((len(q), k), -np.inf, np.float32)
        out_i = np.full((len(q), k), -1, np.int64)
        with self._lock:
            n = len(self)
            if n == 0 or k <= 0:
                return out_s, out_i
            if allowed is not None:
                allowed = as_ids(allowed)
                if not len(allowed):
                    return out_s, out_i
            if not self._compressed:
                params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed)) if allowed is not None else None
                kk = min(k, self._index.ntotal)
                s, i = self._index.search(q, kk, params=params)
                out_s[:, :kk], out_i[:, :kk] = s, i
                out_s[out_i < 0] = -np.inf
                return out_s, out_i
            # compressed: widen until k live (and allowed) hits per query, or everything
            kk = min(self._index.ntotal, k + len(self._tomb) if allowed is None else max(4 * k, 64))
            tomb = np.fromiter(self._tomb, dtype=np.int64, count=len(self._tomb))
            while True:
                s, i = self._index.search(q, kk)
                bad = (i < 0) | np.isin(i, tomb)
                if allowed is not None:
                    bad |= ~np.isin(i, allowed)
                enough = ((~bad).sum(axis=1) >= min(k, n)).all()
                if enough or kk >= self._index.ntotal:
                    break
                kk = min(self._index.ntotal, kk * 8)
            for r in range(len(q)):
                good = np.flatnonzero(~bad[r])[:k]
                out_s[r, : len(good)], out_i[r, : len(good)] = s[r, good], i[r, good]
            return out_s, out_i

    def ids(self) -> np.ndarray:
        with self._lock:
            ids = self._id_array()
            if self._tomb:
                ids = ids[~np.isin(ids, np.fromiter(self._tomb, dtype=np.int64, count=len(self._tomb)))]
            return np.sort(ids)

    def __len__(self) -> int:
        return int(self._index.ntotal) - len(self._tomb)

    def reset(self) -> None:
        with self._lock:
            self._index = self._new_flat()
            self._tomb.clear()

    def persist(self) -> None:
        """Atomic: a crash leaves the previous file, never a torn one."""
        if not self.path:
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + f".tmp{os.getpid()}")
            faiss.write_index(self._index, str(tmp))
            meta = {"compressed": self._compressed, "tombstones": sorted(self._tomb), "dim": self.dim}
            mtmp = tmp.with_suffix(".json")
            mtmp.write_text(json.dumps(meta))
            os.replace(mtmp, self.path.with_suffix(".json"))
            os.replace(tmp, self.path)

    def _load(self) -> None:
        try:
            idx = faiss.read_index(str(self.path))
            meta_path = self.path.with_suffix(".json")
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        except (RuntimeError, ValueError, OSError):
            return  # unreadable: start empty, reconcile refills it from the store
        if idx.d != self.dim:
            return
        self._index = idx if isinstance(idx, faiss.IndexIDMap2) else faiss.IndexIDMap2(idx)
        self._compressed = bool(meta.get("compressed", False))
        self._tomb = set(int(t) for t in meta.get("tombstones", []))
        if self._compressed:
            sub = faiss.downcast_index(self._index.index)
            if hasattr(sub, "k_factor"):
                sub.k_factor = self.k_factor

    def close(self) -> None:
        self.persist()

    @property
    def compressed(self) -> bool:
        return self._compressed

    def describe(self) -> dict:
        return {"backend": "faiss", "kind": self.factory if self._compressed else "Flat", "vectors": len(self),
                "tombstones": len(self._tomb)}
