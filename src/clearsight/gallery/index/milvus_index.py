"""Milvus index (pymilvus): the same interface for a gallery that outgrows one machine.

`uri` is a file path for milvus-lite (an embedded server process: tests, demos)
or `http://host:19530` for a cluster. Exact (FLAT) inner-product search; on a
cluster pick the collection's index type with Milvus's own tools.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from ..errors import GalleryIndexError
from .base import as_ids, as_vectors

log = logging.getLogger(__name__)


class MilvusIndex:
    OPTIONS = ("uri", "collection", "token")

    def __init__(self, dim: int, *, uri: str | Path, collection: str = "clearsight_templates",
                 token: str | None = None) -> None:
        try:
            from pymilvus import MilvusClient
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise GalleryIndexError(f"the milvus index needs pymilvus (and milvus-lite for files): {exc}") from None
        self.dim = int(dim)
        self.uri = str(uri)
        if "://" not in self.uri:
            Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
        self.collection = collection
        self._lock = threading.RLock()
        try:
            self._client = MilvusClient(self.uri, token=token or "")
        except Exception as exc:  # pymilvus raises many types for one cause: unreachable
            raise GalleryIndexError(f"cannot open Milvus at {self.uri}: {exc}") from None
        self._ensure()

    def _ensure(self) -> None:
        if self._client.has_collection(self.collection):
            return
        from pymilvus import DataType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        params = self._client.prepare_index_params()
        params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        try:
            self._client.create_collection(self.collection, schema=schema, index_params=params,
                                           consistency_level="Strong")
            self._client.load_collection(self.collection)
        except Exception as exc:  # pymilvus raises MilvusException with a server-side reason
            # milvus-lite 2.4 refuses some names mixing digits and letters with "internal error"
            # (seen: 't0db3a88f1d'); say which collection, so the user can rename it
            raise GalleryIndexError(f"Milvus at {self.uri} could not create collection {self.collection!r}: {exc}; "
                                    "with milvus-lite, a name of letters and underscores avoids a known "
                                    "name-parsing fault") from None

    def add(self, ids, vectors) -> None:  # noqa: ANN001
        ids, vectors = as_ids(ids), as_vectors(vectors, self.dim)
        if len(ids) != len(vectors):
            raise GalleryIndexError("ids and vectors differ in length")
        if not len(ids):
            return
        with self._lock:
            for i in range(0, len(ids), 5000):
                rows = [{"id": int(a), "vector": v.tolist()} for a, v in zip(ids[i : i + 5000], vectors[i : i + 5000])]
                self._client.upsert(self.collection, rows)

    def remove(self, ids) -> int:  # noqa: ANN001
        ids = as_ids(ids)
        if not len(ids):
            return 0
        with self._lock:
            present = np.intersect1d(self.ids(), ids)
            for i in range(0, len(present), 5000):
                self._client.delete(self.collection, ids=[int(x) for x in present[i : i + 5000]])
            return int(len(present))

    def search(self, queries, k: int, allowed=None) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
        q = as_vectors(queries, self.dim)
        k = int(k)
        out_s = np.full((len(q), k), -np.inf, np.float32)
        out_i = np.full((len(q), k), -1, np.int64)
        if k <= 0:
            return out_s, out_i
        flt = ""
        if allowed is not None:
            allowed = as_ids(allowed)
            if not len(allowed):
                return out_s, out_i
            flt = f"id in [{','.join(str(int(a)) for a in allowed)}]"
        with self._lock:
            res = self._client.search(self.collection, data=q.tolist(), limit=min(k, 16384), filter=flt,
                                      search_params={"metric_type": "IP"}, output_fields=[])
        for r, hits in enumerate(res):
            for j, h in enumerate(hits[:k]):
                out_s[r, j], out_i[r, j] = h["distance"], h["id"]
        return out_s, out_i

    def ids(self) -> np.ndarray:
        with self._lock:
            out: list[int] = []
            it = self._client.query_iterator(self.collection, batch_size=10_000, filter="id >= 0", output_fields=["id"])
            try:
                while True:
                    page = it.next()
                    if not page:
                        break
                    out.extend(int(r["id"]) for r in page)
            finally:
                it.close()
            return np.sort(np.asarray(out, dtype=np.int64))

    def __len__(self) -> int:
        with self._lock:
            res = self._client.query(self.collection, filter="", output_fields=["count(*)"])
            return int(res[0]["count(*)"])

    def reset(self) -> None:
        with self._lock:
            self._client.drop_collection(self.collection)
            self._ensure()

    def persist(self) -> None:
        with self._lock:
            try:
                self._client.flush(self.collection)
            except Exception as exc:  # milvus-lite flushes on its own; a cluster may refuse
                log.debug("milvus flush: %s", exc)

    def close(self) -> None:
        with self._lock:
            self.persist()
            self._client.close()

    def describe(self) -> dict:
        return {"backend": "milvus", "uri": self.uri, "collection": self.collection, "vectors": len(self)}
