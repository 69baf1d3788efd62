"""Store -> index synchronisation: the vector index is derived data, kept in step with the store.

Why: the SQL store is the truth and several processes write to it. Writes commit the
row first and touch the index after, so a crash can leave the index behind the store
but never ahead of it; this module owns the one index of the gallery's model and key
domain and every way it catches up: reconcile at open, the cheap check before each
search, adding a fresh enrolment, dropping erased templates (persisted at once), and
the rebuild after a key rotation. Its lock is the gallery's write lock for the index.
"""

from __future__ import annotations

import logging
import re
import threading

import numpy as np

from ..config import Settings
from .index.base import VectorIndex, create_index, reconcile
from .model import FaceModel
from .protection import TemplateKeys
from .repository import IdentityRepository

log = logging.getLogger(__name__)


def template_aad(identity_id: str, model: str) -> bytes:
    """Associated data binding a template's ciphertext to its identity and model."""
    return f"clearsight/template/{identity_id}/{model}".encode()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name)


class IndexSync:
    def __init__(self, settings: Settings, repo: IdentityRepository, keys: TemplateKeys, model: FaceModel) -> None:
        self.settings = settings
        self.gs = settings.gallery
        self.repo = repo
        self.keys = keys
        self.model = model
        self.lock = threading.RLock()
        self.index: VectorIndex | None = None
        self._max_seen = 0
        self._changes = 0

    # -- the index of the current model and key domain ---------------------------
    def _path(self):  # noqa: ANN202
        return self.settings.gallery_index_dir() / f"{_safe(self.model.model_id)}.{self.keys.active}.faiss"

    def _new_index(self, dim: int) -> VectorIndex:
        gs, model_id = self.gs, self.model.model_id
        if gs.index == "milvus":
            uri = gs.milvus_uri or str(self.settings.gallery_index_dir() / "milvus.db")
            coll = re.sub(r"[.+-]", "_", f"{gs.milvus_collection}_{_safe(model_id)}_{self.keys.active}")
            return create_index("milvus", dim, uri=uri, collection=coll, token=gs.milvus_token)
        return create_index(gs.index, dim, path=self._path(), exact_max=gs.exact_max,
                            factory=gs.compressed_factory, k_factor=gs.compressed_k_factor,
                            threads=gs.index_threads, shards=gs.index_shards, probe_factor=gs.ivf_probe_factor,
                            first_probe_factor=gs.ivf_first_probe_factor, stop_gap=gs.ivf_stop_gap,
                            seal_key=self.keys.protector.file_key())

    def _dim(self) -> int | None:
        return self.repo.template_dim(self.model.model_id) or self.model.dim_hint()

    def ensure(self, dim: int | None = None) -> VectorIndex | None:
        """The index, opened (and reconciled with the store) on first use; None while the
        gallery has no template and no model to tell the dimension."""
        with self.lock:
            if self.keys.follow_file() and self.index is not None:
                self.drop_index()
            if self.index is None:
                dim = dim or self._dim()
                if dim is None:
                    return None
                self.index = self._new_index(dim)
                self.reconcile()
            return self.index

    def drop_index(self) -> None:
        """Forget the open index (a key swap made it stale); `ensure` opens the new domain's."""
        with self.lock:
            if self.index is not None:
                self.index.close()
            self.index, self._max_seen = None, 0

    # -- store -> index ----------------------------------------------------------
    def active_vectors(self, ids: np.ndarray) -> np.ndarray:
        """Stored templates, decrypted into the active key's domain, in `ids` order."""
        ids = np.asarray(ids, dtype=np.int64)
        out = np.zeros((len(ids), self.index.dim if self.index is not None else 0), np.float32)
        pos = {int(t): i for i, t in enumerate(ids)}
        prot, model_id = self.keys.protector, self.model.model_id
        for r in self.repo.protected_rows([int(x) for x in ids]):
            out[pos[int(r.id)]] = prot.to_active(r.key_id, r.nonce, r.ciphertext, template_aad(r.identity_id, model_id))
        return out

    def store_ids(self) -> np.ndarray:
        return self.repo.template_ids(self.model.model_id)

    def reconcile(self) -> tuple[int, int]:
        with self.lock:
            store = self.store_ids()
            added, removed = reconcile(self.index, store, self.active_vectors)
            self._max_seen = int(store.max()) if len(store) else 0
            if added or removed:
                log.info("gallery index caught up with the store: +%d -%d", added, removed)
                self.index.persist()
            return added, removed

    def sync(self, force: bool = False) -> VectorIndex | None:
        """Bring the index up to date with the store (other processes write too)."""
        with self.lock:
            idx = self.ensure()
            if idx is None:
                return None
            if force:
                self.reconcile()
                return idx
            n, mx = self.repo.template_state(self.model.model_id)
            if n == len(idx) and mx == self._max_seen:
                return idx
            if mx > self._max_seen:
                new = self.repo.template_ids(self.model.model_id, after=self._max_seen)
                if len(new):
                    idx.add(new, self.active_vectors(new))
                self._max_seen = mx
            if n != len(idx):
                self.reconcile()
            return idx

    # -- the gallery's own writes --------------------------------------------------
    def added(self, template_id: int, protected: np.ndarray) -> None:
        """A template this process just committed (call under `lock`, in the active domain)."""
        idx = self.ensure(int(protected.shape[-1]))
        if idx is None:
            return
        idx.add(np.array([template_id], np.int64), protected.reshape(1, -1))
        self._max_seen = max(self._max_seen, template_id)
        self._changes += 1
        if self._changes >= self.gs.persist_every:
            idx.persist()
            self._changes = 0

    def dropped(self, ids: list[int]) -> None:
        """Templates deleted from the store leave the index, and its file, now."""
        if ids and self.index is not None:
            with self.lock:
                self.index.remove(np.asarray(ids, dtype=np.int64))
                self.index.persist()

    def describe(self) -> dict | None:
        return self.index.describe() if self.index is not None else None

    def close(self) -> None:
        with self.lock:
            if self.index is not None:
                self.index.close()
                self.index = None
