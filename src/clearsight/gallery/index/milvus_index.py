"""Milvus index (pymilvus): the same interface for a gallery that outgrows one machine.

`uri` is a file path for milvus-lite (an embedded server process: tests, demos)
or `http://host:19530` for a cluster. Exact (FLAT) inner-product search; on a
cluster pick the collection's index type with Milvus's own tools.
"""

from __future__ import annotations

import logging
import threading
from contextlib import suppress
from pathlib import Path

import numpy as np

from ..errors import GalleryIndexError
from .base import as_ids, as_vectors

log = logging.getLogger(__name__)
LITE_NAME_TRIES = 4  # names tried on milvus-lite (MilvusIndex._ensure)


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
        """Open the collection, creating it on first use.

        milvus-lite 2.4 fails to index some new collections by name, deterministically and
        with no pattern we could find ('t0db3a88f1d', 't_cfhdmjookgge'; 'figure' works
        here but failed upstream, milvus-io/milvus-lite#250): "internal error", leaving a
        collection without its index behind. On milvus-lite the index therefore drops such
        a leftover and takes the next of a fixed list of names (`<name>`, `<name>_1`, ...),
        the same list on every open, so the same collection is found again. A server has
        no such fault: its name is used as given, and its error is reported."""
        lite = "://" not in self.uri
        names = [self.collection] + ([f"{self.collection}_{i}" for i in range(1, LITE_NAME_TRIES)] if lite else [])
        for name in names:
            if self._client.has_collection(name) and (not lite or self._client.list_indexes(name)):
                self.collection = name
                return
        last: Exception | None = None
        for name in names:
            try:
                if lite and self._client.has_collection(name):  # a leftover without its index
                    self._client.drop_collection(name)
                self._create(name)
            except Exception as exc:  # noqa: BLE001 - pymilvus raises MilvusException with a server-side reason
                last = exc
                if lite:
                    with suppress(Exception):  # noqa: BLE001 - best effort: the next open drops it too
                        self._client.drop_collection(name)
                continue
            if name != self.collection:
                log.warning("milvus-lite could not create collection %r; using %r", self.collection, name)
            self.collection = name
            return
        raise GalleryIndexError(f"Milvus at {self.uri} could not create collection {self.collection!r}: {last}") from None

    def _create(self, name: str) -> None:
        from pymilvus import DataType

        schema = self._client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        params = self._client.prepare_index_params()
        params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        self._client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")
        self._client.load_collection(name)

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
