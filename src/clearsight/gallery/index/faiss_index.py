"""FAISS index: exact inner-product search while small, IVF-PQ with re-ranking when large.

Exact (`IDMap2,Flat`) costs 4*d bytes per vector and scans everything. Once the
gallery passes `exact_max` vectors (`kind="auto"`) it is re-encoded into a
compressed index. The default (`factory="auto"`) is chosen by size:
`IVF{nlist},PQ128x4fs,Refine(SQ8)`, nlist = the power of two at or above
4*sqrt(n): an inverted file, 4-bit fast-scan PQ codes for the probed lists, SQ8
re-scoring of the shortlist; the gallery then re-ranks its final shortlist
exactly from the store. The coarse quantiser is flat: for one query, scanning
16k centroids (0.35-1.3 ms, memory-bound) beat an HNSW over them at the ef
that many probes need (1.1 ms); bulk encoding borrows an HNSW over the centroids
for the assignment.

Why IVF and not a graph: on vectors with the default embedder's statistics, HNSW
needed ~8x the work of IVF for the same recall@1 (bench/search.py). Why so many
probes (nprobe = probe_factor * sqrt(nlist), ~9% of a 10M gallery): face
templates of one person scatter widely compared with the spread of identities,
so the exact neighbour often sits in a list far down the query's ranking; the
factor 12 gave recall@1 0.996-0.999 against exact search at 1M and 10M. Few
queries need that many: a staged search answers ~2/3 of them from the first
sixth of their lists (see `_probe`), which is what brings the median down.

Single-query latency comes from shards: the compressed index is split into
`shards` sub-indexes searched by parallel threads (one per core), each probing
its own lists, merged by score; from 8192 lists on, one coarse-quantiser call
ranks the lists for all shards (`_scan`). Compressed FAISS indexes cannot remove vectors
or filter by id, so removals are tombstones (filtered out, folded in on the next
re-encode) and id filters widen the shortlist until enough allowed hits are found.
The index re-trains itself (new nlist) when it has grown 4x since it was trained.
"""

from __future__ import annotations

import json
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np

from ..errors import GalleryIndexError
from .base import as_ids, as_vectors
from .sealed import SealedIndexError, is_sealed, read_sealed, write_sealed

AUTO = "auto"
GROWTH_RETRAIN = 4  # re-train the coarse quantiser when the gallery has grown this much
TRAIN_PER_LIST = 40  # k-means sample: 40 points a list (~3 min for nlist 16384 on 2 cores)
# Early stop (FaissIndex._probe): a query whose best hit after the first lists beats its
# STOP_RANK-th by the stop gap (cosine) is answered there. "auto" margins, measured on
# LFW-fitted vectors for recall@1 >= 0.99 (bench/search.py): (gallery size, margin); the
# margin is log-interpolated between them and held at the end ones outside (a larger
# gallery needed a smaller margin, so holding the last one errs on the safe side).
# 100M: measured on a gallery streamed in 1M chunks (`bench/search.py --early-stop-sizes`):
# the 10M margin held there answered only 47% of queries early (the median query would pay
# for every list); 0.006 answers 64% early and 99.06% of those are the exact neighbour
# (at 10M, 0.008: 72% and 99.16%).
STOP_RANK = 10
AUTO_STOP_GAPS = ((1_000_000, 0.012), (10_000_000, 0.008), (100_000_000, 0.006))
# From this many lists the shards share one coarse-quantiser call (FaissIndex._scan):
# at 16384 lists it made a 256-list first stage 1.8x faster; at 4096 IndexShards was faster.
SHARED_QUANTIZER_FROM = 8192


def ivf_nlist(n: int) -> int:
    """Inverted lists for n vectors: the power of two at or above 4*sqrt(n), with
    at least 39 training points per list (FAISS's k-means minimum)."""
    want = 1 << max(4, math.ceil(math.log2(4 * math.sqrt(max(n, 1)))))
    while want > 16 and want * 39 > n:
        want //= 2
    return want


def auto_factory(n: int, dim: int = 128) -> str:
    """PQ with up to 128 4-bit sub-quantisers (64 bytes): one per dimension at d=128,
    which kept the exact neighbour in the SQ8-rescored shortlist where PQ64/PQ32 lost it."""
    return f"IVF{ivf_nlist(n)},PQ{math.gcd(dim, 128)}x4fs,Refine(SQ8)"


@contextmanager
def _bulk_assignment(index: faiss.Index, n: int):  # noqa: ANN202
    """Assign many vectors to lists through an HNSW over the centroids: a flat
    quantiser costs n*nlist dot products (~5 min for 10M x 16k on 2 cores)."""
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None or n < 200_000 or not isinstance(faiss.downcast_index(ivf.quantizer), faiss.IndexFlat):
        yield
        return
    flat = ivf.quantizer
    graph = faiss.IndexHNSWFlat(ivf.d, 32, ivf.metric_type)
    graph.hnsw.efSearch = 64
    graph.add(flat.reconstruct_n(0, ivf.nlist))
    ivf.quantizer = graph
    try:
        yield
    finally:
        ivf.quantizer = flat


class FaissIndex:
    OPTIONS = ("path", "exact_max", "factory", "k_factor", "threads", "shards", "probe_factor", "nprobe",
               "first_probe_factor", "stop_gap", "shared_quantizer_from", "seal_key")

    def __init__(self, dim: int, *, kind: str = "auto", path: Path | str | None = None, exact_max: int = 250_000,
                 factory: str = AUTO, k_factor: int = 8, threads: int | None = None, shards: int = 2,
                 probe_factor: float = 12.0, nprobe: int | None = None, first_probe_factor: float = 2.0,
                 stop_gap: float | str = AUTO, shared_quantizer_from: int = SHARED_QUANTIZER_FROM,
                 seal_key: bytes | None = None) -> None:
        """`seal_key`: persisted files are AES-GCM encrypted under it (`sealed.py`); files of
        an older, unsealed index still load and are sealed on the next persist."""
        self.dim = int(dim)
        self.kind = kind
        self.path = Path(path) if path else None
        self.seal_key = seal_key
        self.exact_max = int(exact_max)
        self.factory = factory
        self.k_factor = int(k_factor)
        self.n_shards = max(1, int(shards))
        self.probe_factor = float(probe_factor)
        self.fixed_nprobe = int(nprobe) if nprobe else None
        self.first_probe_factor = float(first_probe_factor)
        self.stop_gap = stop_gap if stop_gap == AUTO else float(stop_gap)
        self.shared_quantizer_from = int(shared_quantizer_from)
        self._probed = {"queries": 0, "stopped_early": 0}  # since start: how often the early stop held
        self._stopped_at: dict[int, int] = {}  # lists probed -> queries answered there
        self._lock = threading.RLock()
        self._tomb: set[int] = set()
        self._trained_n = 0
        self._trained_factory = ""
        self._generation = 0
        if threads:
            faiss.omp_set_num_threads(int(threads))
        self._parts: list[faiss.Index] = [self._new_flat()]
        self._view: faiss.Index | None = None
        self._layers: list[tuple] | None = None  # per part: (IVF, SQ8 re-scorer, id map), see _scan
        self._pool: ThreadPoolExecutor | None = None
        if self.path and (self.path.with_suffix(".json").exists() or self.path.exists()):
            self._load()

    # -- construction ------------------------------------------------------
    def _new_flat(self) -> faiss.Index:
        self._compressed = False
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def _factory_for(self, n: int) -> str:
        return auto_factory(n, self.dim) if self.factory == AUTO else self.factory

    def _train_compressed(self, vectors: np.ndarray) -> faiss.Index:
        factory = self._factory_for(len(vectors))
        try:
            # IDMap, not IDMap2: no reverse hash map (~40 B a vector at 100M); compressed
            # parts never look a vector up by id (removals are tombstones)
            idx = faiss.index_factory(self.dim, "IDMap," + factory, faiss.METRIC_INNER_PRODUCT)
        except RuntimeError as exc:
            raise GalleryIndexError(f"invalid FAISS factory {factory!r}: {exc}") from None
        ivf = faiss.try_extract_index_ivf(idx)
        cap = max(100_000, TRAIN_PER_LIST * (ivf.nlist if ivf is not None else 0))
        if len(vectors) > cap:
            sel = np.random.default_rng(0).choice(len(vectors), cap, replace=False)
            vectors = vectors[np.sort(sel)]
        idx.train(vectors)
        self._trained_factory = factory
        return idx

    def _tune(self, part: faiss.Index) -> None:
        """Search-time parameters are not all serialised: set them on every (re)load."""
        sub = faiss.downcast_index(part.index) if isinstance(part, faiss.IndexIDMap) else part
        if hasattr(sub, "k_factor"):
            sub.k_factor = self.k_factor
        ivf = faiss.try_extract_index_ivf(part)
        if ivf is not None:
            ivf.nprobe = self.nprobe_for(ivf.nlist)

    def tune(self, *, nprobe: int | None = None, k_factor: int | None = None,
             stop_gap: float | str | None = None) -> None:
        """Trade recall for latency at run time (bench/search.py sweeps these)."""
        with self._lock:
            if nprobe is not None:
                self.fixed_nprobe = int(nprobe)
            if k_factor is not None:
                self.k_factor = int(k_factor)
            if stop_gap is not None:
                self.stop_gap = stop_gap if stop_gap == AUTO else float(stop_gap)
            for p in self._parts:
                self._tune(p)

    @property
    def parts(self) -> tuple[faiss.Index, ...]:
        return tuple(self._parts)

    def nprobe_for(self, nlist: int) -> int:
        if self.fixed_nprobe:
            return min(nlist, self.fixed_nprobe)
        return min(nlist, max(8, math.ceil(self.probe_factor * math.sqrt(nlist))))

    def first_probes(self, nlist: int) -> int:
        """Lists probed before the early-stop test: first_probe_factor * sqrt(nlist)."""
        return min(nlist, max(1, math.ceil(self.first_probe_factor * math.sqrt(nlist))))

    def _all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Ids and vectors of every part (compressed parts decode their SQ8/flat codes:
        accurate to ~1e-3, enough to re-encode; the store-driven rebuild is exact)."""
        ids, vecs = [], []
        for part in self._parts:
            if part.ntotal:
                ids.append(faiss.vector_to_array(part.id_map).astype(np.int64))
                vecs.append(part.index.reconstruct_n(0, part.ntotal))
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        return np.concatenate(ids), np.concatenate(vecs)

    def _tomb_array(self) -> np.ndarray:
        return np.fromiter(self._tomb, dtype=np.int64, count=len(self._tomb))

    def _live_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """`_all_vectors` without the tombstoned ones: what a re-encode keeps."""
        ids, vecs = self._all_vectors()
        keep = ~np.isin(ids, self._tomb_array())
        return ids[keep], vecs[keep]

    def _encode(self, ids: np.ndarray, vecs: np.ndarray, template: faiss.Index) -> list[faiss.Index]:
        """Split (ids, vecs) over `n_shards` empty copies of a trained index."""
        parts = []
        bounds = np.linspace(0, len(ids), self.n_shards + 1).astype(int)
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            part = faiss.clone_index(template)
            part.reset()
            self._tune(part)
            with _bulk_assignment(part, hi - lo):
                for s in range(lo, hi, 1_000_000):
                    e = min(hi, s + 1_000_000)
                    part.add_with_ids(np.ascontiguousarray(vecs[s:e]), ids[s:e])
            parts.append(part)
        return parts

    def _ntotal(self) -> int:
        return int(sum(p.ntotal for p in self._parts))

    def _needs_training(self, n: int) -> bool:
        """Compress once past `exact_max` (or at once for kind="compressed"), and
        re-train an auto-sized index once it has grown GROWTH_RETRAIN times."""
        want = self.kind == "compressed" or (self.kind == "auto" and n > self.exact_max)
        if not want or n < 1024:
            return False
        return not self._compressed or (self.factory == AUTO and n >= GROWTH_RETRAIN * max(self._trained_n, 1))

    def _maybe_compress(self, extra_ids: np.ndarray | None = None, extra: np.ndarray | None = None) -> bool:
        """Train and encode everything (plus `extra`, not yet added: a bulk load never
        stages millions of vectors in a flat copy first)."""
        n_extra = 0 if extra_ids is None else len(extra_ids)
        if not self._needs_training(self._ntotal() + n_extra):
            return False
        ids, vecs = self._live_vectors()
        if n_extra:
            ids, vecs = np.concatenate([ids, extra_ids]), np.concatenate([vecs, extra])
        vecs = np.ascontiguousarray(vecs, dtype=np.float32)
        trained = self._train_compressed(vecs)
        self._parts, self._compressed, self._trained_n = self._encode(ids, vecs, trained), True, len(ids)
        self._tomb.clear()
        self._changed()
        return True

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
            if self._maybe_compress(ids, vectors):
                return
            # new vectors fill the smallest shard: shards stay balanced, latency even
            part = min(self._parts, key=lambda p: p.ntotal)
            part.add_with_ids(vectors, ids)
            self._layers = None  # that part's id map grew

    def _id_array(self) -> np.ndarray:
        arrs = [faiss.vector_to_array(p.id_map).astype(np.int64) for p in self._parts]
        return np.concatenate(arrs) if arrs else np.zeros(0, np.int64)

    def _remove_now(self, ids: np.ndarray) -> int:
        if not self._compressed:
            return int(sum(p.remove_ids(faiss.IDSelectorBatch(ids)) for p in self._parts))
        present = np.intersect1d(self._id_array(), ids)
        self._tomb.update(int(i) for i in present)
        if len(self._tomb) > max(1000, self._ntotal() // 20):
            self._fold_tombstones()
        return int(len(present))

    def _fold_tombstones(self) -> None:
        """Re-encode without tombstoned vectors, reusing the trained quantisers."""
        ids, vecs = self._live_vectors()
        self._parts = self._encode(ids, np.ascontiguousarray(vecs), self._parts[0])
        self._tomb.clear()
        self._changed()

    def remove(self, ids) -> int:  # noqa: ANN001
        ids = as_ids(ids)
        with self._lock:
            return self._remove_now(ids) if len(ids) else 0

    def _searcher(self) -> faiss.Index:
        """All parts as one index; with several, a thread per shard for each query."""
        if len(self._parts) == 1:
            return self._parts[0]
        if self._view is None:
            view = faiss.IndexShards(self.dim, True, False)  # threaded, ids as stored
            for p in self._parts:
                view.add_shard(p)
            view.metric_type = faiss.METRIC_INNER_PRODUCT
            self._view = view
        return self._view

    def search(self, queries, k: int, allowed=None) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
        q = as_vectors(queries, self.dim)
        k = int(k)
        out_s = np.full((len(q), k), -np.inf, np.float32)
        out_i = np.full((len(q), k), -1, np.int64)
        with self._lock:
            n = len(self)
            total = self._ntotal()
            if n == 0 or k <= 0:
                return out_s, out_i
            if allowed is not None:
                allowed = as_ids(allowed)
                if not len(allowed):
                    return out_s, out_i
            if not self._compressed:
                params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed)) if allowed is not None else None
                kk = min(k, total)
                s, i = self._parts[0].search(q, kk, params=params)
                out_s[:, :kk], out_i[:, :kk] = s, i
                out_s[out_i < 0] = -np.inf
                return out_s, out_i
            # compressed: widen until k live (and allowed) hits per query, or everything
            kk = min(total, k + len(self._tomb) if allowed is None else max(4 * k, 64))
            tomb = self._tomb_array()
            early = allowed is None  # a filtered or widened search wants every probed list
            while True:
                s, i = self._probe(q, kk) if early else self._searcher().search(q, kk)
                early = False
                bad = (i < 0) | np.isin(i, tomb)
                if allowed is not None:
                    bad |= ~np.isin(i, allowed)
                enough = ((~bad).sum(axis=1) >= min(k, n)).all()
                if enough or kk >= total:
                    break
                kk = min(total, kk * 8)
            for r in range(len(q)):
                good = np.flatnonzero(~bad[r])[:k]
                out_s[r, : len(good)], out_i[r, : len(good)] = s[r, good], i[r, good]
            return out_s, out_i

    def _changed(self) -> None:
        """The parts changed: drop what was derived from them."""
        self._view = None
        self._layers = None

    def _scan_layers(self) -> list[tuple] | None:
        """Per part (IDMap over IVF-PQ + SQ8 refine): its IVF, its SQ8 index and its id map
        as an array; None when the parts are not laid out so (a custom factory)."""
        if self._layers is None:
            layers = []
            for part in self._parts:
                refine = faiss.downcast_index(part.index) if isinstance(part, faiss.IndexIDMap) else None
                if not isinstance(refine, faiss.IndexRefine):
                    return None
                ivf = faiss.try_extract_index_ivf(refine.base_index)
                if ivf is None:
                    return None
                layers.append((faiss.downcast_index(refine.base_index), refine.refine_index,
                               faiss.vector_to_array(part.id_map).astype(np.int64)))
            self._layers = layers
        return self._layers

    def _scan(self, q: np.ndarray, k: int, nprobe: int) -> tuple[np.ndarray, np.ndarray]:
        """Search every part's `nprobe` best lists, with one coarse-quantiser call when large.

        The parts are clones of one trained index, so one list ranking serves them all;
        searched through IndexShards each part ranks the 16k+ centroids itself (0.9-1.3 ms,
        memory-bound), the larger share of a first stage. Each part then scans its lists
        in its own thread, its shortlist is re-scored from SQ8 codes, and the best k of
        all parts win, as IndexShards(IDMap(IndexRefine)) would return them."""
        self._set_nprobe(nprobe)  # FAISS checks the preassigned lists against it
        ivf = faiss.extract_index_ivf(self._parts[0])
        layers = self._scan_layers() if ivf.nlist >= self.shared_quantizer_from else None
        if layers is None:
            return self._searcher().search(q, k)
        dis, lists = layers[0][0].quantizer.search(q, nprobe)
        short = k * self.k_factor

        def one(layer: tuple) -> tuple[np.ndarray, np.ndarray]:
            ivf, sq8, id_map = layer
            _, inner = ivf.search_preassigned(q, short, lists, dis)
            ok = inner >= 0
            scores = np.full(inner.shape, -np.inf, np.float32)
            if ok.any():
                vecs = sq8.reconstruct_batch(inner[ok])
                scores[ok] = np.einsum("ij,ij->i", vecs, np.repeat(q, ok.sum(axis=1), axis=0))
            return scores, np.where(ok, id_map[np.maximum(inner, 0)], -1)

        if len(layers) == 1:
            found = [one(layers[0])]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=len(layers), thread_name_prefix="faiss-shard")
            found = list(self._pool.map(one, layers))
        scores = np.concatenate([f[0] for f in found], axis=1)
        ids = np.concatenate([f[1] for f in found], axis=1)
        best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, best, 1), np.take_along_axis(ids, best, 1)

    def _set_nprobe(self, nprobe: int) -> None:
        for p in self._parts:
            faiss.extract_index_ivf(p).nprobe = nprobe

    def gap_for(self, n: int) -> float:
        """The early-stop margin for a gallery of n vectors (0: no early stop)."""
        if self.stop_gap != AUTO:
            return float(self.stop_gap)
        sizes, gaps = zip(*AUTO_STOP_GAPS)
        return float(np.interp(math.log(max(n, 1)), [math.log(x) for x in sizes], gaps))

    def probe_stages(self, nlist: int, nprobe: int) -> list[int]:
        """Lists probed at each stage of a search: first_probes(nlist), then all nprobe.
        (A middle stage of 3x the first lists answered only ~2% more queries at 0.3M-1M
        and cost the rest a third more.)"""
        first = self.first_probes(nlist)
        return [first, nprobe] if self.gap_for(self._ntotal()) > 0 and first < nprobe else [nprobe]

    def _probe(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Search the compressed parts in stages, each query stopping once its answer is clear.

        Most queries need few lists: their nearest neighbour sits in one of the first
        lists they probe, and it stands out from the crowd. So a query first probes
        `first_probes` lists (1/6 of the full count at the defaults); where its best
        re-scored hit beats its 10th by at least `stop_gap` (cosine), that is the
        answer; the others probe all `nprobe` lists (the first ones again: FAISS scans a
        list set in one pass), paying 1/6 more than a plain search, while a query
        answered early pays 1/6 (bench/search.py measures recall and the share).
        Why the gap to the 10th: when the best hit stands far above the local crowd, a
        better one in a far list is rare; when the top is crowded, it is not."""
        ivf = faiss.try_extract_index_ivf(self._parts[0])
        if ivf is None:
            return self._searcher().search(q, k)
        full = ivf.nprobe
        stages = self.probe_stages(ivf.nlist, full)
        gap = self.gap_for(self._ntotal())
        out_s = np.empty((len(q), k), np.float32)
        out_i = np.empty((len(q), k), np.int64)
        rest = np.arange(len(q))
        try:
            for nprobe in stages:
                s, i = self._scan(np.ascontiguousarray(q[rest]), max(k, STOP_RANK), nprobe)
                if nprobe == stages[-1]:
                    clear = np.ones(len(rest), bool)
                else:
                    clear = (i[:, STOP_RANK - 1] >= 0) & (s[:, 0] - s[:, STOP_RANK - 1] >= gap)
                    self._probed["stopped_early"] += int(clear.sum())
                self._stopped_at[nprobe] = self._stopped_at.get(nprobe, 0) + int(clear.sum())
                out_s[rest[clear]], out_i[rest[clear]] = s[clear, :k], i[clear, :k]
                rest = rest[~clear]
                if not len(rest):
                    break
        finally:
            self._set_nprobe(full)
        self._probed["queries"] += len(q)
        return out_s, out_i

    def ids(self) -> np.ndarray:
        with self._lock:
            ids = self._id_array()
            if self._tomb:
                ids = ids[~np.isin(ids, self._tomb_array())]
            return np.sort(ids)

    def __len__(self) -> int:
        return self._ntotal() - len(self._tomb)

    def reset(self) -> None:
        with self._lock:
            self._parts = [self._new_flat()]
            self._tomb.clear()
            self._trained_n = 0
            self._changed()

    # -- persistence -----------------------------------------------------------
    def _part_path(self, generation: int, i: int) -> Path:
        assert self.path is not None
        return self.path.with_name(f"{self.path.name}.g{generation}.{i}")

    def persist(self) -> None:
        """Crash-safe: parts are written under a new generation's names, then the
        JSON manifest naming them is swapped in atomically; a crash leaves the
        previous generation, never a torn index."""
        if not self.path:
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            gen = self._generation + 1
            names = []
            for i, part in enumerate(self._parts):
                p = self._part_path(gen, i)
                if self.seal_key is not None:
                    write_sealed(part, p, self.seal_key, self._seal_aad(i))
                else:
                    faiss.write_index(part, str(p))
                    os.chmod(p, 0o600)
                    with open(p, "rb") as fh:
                        os.fsync(fh.fileno())
                names.append(p.name)
            meta = {"compressed": self._compressed, "tombstones": sorted(self._tomb), "dim": self.dim,
                    "parts": names, "generation": gen, "trained_n": self._trained_n,
                    "factory": self._trained_factory}
            meta_path = self.path.with_suffix(".json")
            tmp = meta_path.with_name(meta_path.name + f".tmp{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(json.dumps(meta))
            os.replace(tmp, meta_path)
            self._generation = gen
            for old in self.path.parent.glob(self.path.name + ".g*"):
                if old.name not in names:
                    old.unlink(missing_ok=True)
            if self.path.exists():  # a single-file index from an earlier version
                self.path.unlink()

    def _seal_aad(self, i: int) -> bytes:
        assert self.path is not None
        return f"clearsight/index/{self.path.name}/{i}".encode()

    def _read_part(self, f: Path, i: int) -> faiss.Index:
        if is_sealed(f):
            if self.seal_key is None:
                raise SealedIndexError("a sealed index needs its key")
            return read_sealed(f, self.seal_key, self._seal_aad(i))
        return faiss.read_index(str(f))  # written before sealing: sealed on the next persist

    def _load(self) -> None:
        assert self.path is not None
        try:
            meta_path = self.path.with_suffix(".json")
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            names = meta.get("parts")
            files = [self.path.with_name(nm) for nm in names] if names else [self.path]
            parts = [self._read_part(f, i) for i, f in enumerate(files)]
        except (RuntimeError, ValueError, OSError):
            return  # unreadable: start empty, reconcile refills it from the store
        if any(p.d != self.dim for p in parts):
            return
        self._parts = [p if isinstance(p, faiss.IndexIDMap) else faiss.IndexIDMap2(p) for p in parts]
        self._compressed = bool(meta.get("compressed", False))
        self._tomb = set(int(t) for t in meta.get("tombstones", []))
        self._generation = int(meta.get("generation", 0))
        self._trained_n = int(meta.get("trained_n", self._ntotal()))
        self._trained_factory = str(meta.get("factory", self.factory))
        self._changed()
        for p in self._parts:
            self._tune(p)

    def close(self) -> None:
        self.persist()
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    @property
    def compressed(self) -> bool:
        return self._compressed

    def describe(self) -> dict:
        out = {"backend": "faiss", "kind": self._trained_factory if self._compressed else "Flat",
               "vectors": len(self), "tombstones": len(self._tomb)}
        if self._compressed:
            out["shards"] = len(self._parts)
            ivf = faiss.try_extract_index_ivf(self._parts[0])
            if ivf is not None:
                out["nlist"], out["nprobe"] = int(ivf.nlist), int(ivf.nprobe)
                out["first_probes"], out["stop_gap"] = self.first_probes(ivf.nlist), self.gap_for(self._ntotal())
                out.update(self._probed)
                out["stopped_at"] = dict(sorted(self._stopped_at.items()))
        return out
