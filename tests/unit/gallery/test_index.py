"""One interface test-suite, run against every VectorIndex backend:
FAISS exact, FAISS compressed (PQ shortlist + re-rank, tombstones), FAISS IVF in
two threaded shards (the large-gallery default), milvus-lite, and a real Milvus server
(the `milvus` wheel's standalone binary, started for this module, over gRPC)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from clearsight.gallery.index.base import VectorIndex, create_index, rebuild, reconcile

pytestmark = pytest.mark.unit

D, N = 64, 3000


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, D)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.arange(N, dtype=np.int64) * 3 + 7, x


def _milvus_available() -> str | None:
    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError as exc:
        return f"pymilvus/milvus-lite not installed: {exc}"
    return None


@pytest.fixture(scope="module")
def milvus_uri(tmp_path_factory):
    reason = _milvus_available()
    if reason:
        pytest.skip(reason)
    return str(tmp_path_factory.mktemp("milvus") / "index.db")


def _collection_name() -> str:
    """A fresh name per index (names milvus-lite cannot index are MilvusIndex's to work around:
    see test_milvus_lite_falls_back_from_a_name_it_cannot_index_and_finds_it_again)."""
    return "t_" + "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:12])


MILVUS = ("milvus-lite", "milvus-server")


@pytest.fixture(params=["faiss-flat", "faiss-compressed", "faiss-ivf-shards", *MILVUS])
def make_index(request, tmp_path):
    made = []

    def factory(**kw) -> VectorIndex:
        if request.param == "faiss-flat":
            idx = create_index("flat", D, path=kw.get("path", tmp_path / "flat.faiss"))
        elif request.param == "faiss-compressed":
            idx = create_index("compressed", D, path=kw.get("path", tmp_path / "pq.faiss"),
                               factory="PQ16x4fs,Refine(SQ8)", k_factor=32)
        elif request.param == "faiss-ivf-shards":
            idx = create_index("compressed", D, path=kw.get("path", tmp_path / "ivf.faiss"), factory="auto",
                               shards=2, k_factor=8)
        else:
            uri = request.getfixturevalue("milvus_uri" if request.param == "milvus-lite" else "milvus_server_uri")
            idx = create_index("milvus", D, uri=uri, collection=kw.get("collection", _collection_name()))
        made.append(idx)
        return idx

    factory.kind = request.param
    yield factory
    for idx in made:
        try:
            idx.close()
        except Exception:  # noqa: BLE001 - already closed by the test
            pass


def test_add_search_finds_each_vector_itself(make_index, data):
    ids, x = data
    idx = make_index()
    assert isinstance(idx, VectorIndex)
    idx.add(ids, x)
    assert len(idx) == N
    s, i = idx.search(x[:50], 5)
    assert s.shape == (50, 5) and i.dtype == np.int64
    assert np.mean(i[:, 0] == ids[:50]) >= 0.98
    assert np.all(np.diff(s, axis=1) <= 1e-5)  # best first
    np.testing.assert_array_equal(idx.ids(), np.sort(ids))


def test_remove_and_readd(make_index, data):
    ids, x = data
    idx = make_index()
    idx.add(ids, x)
    assert idx.remove(ids[:10]) == 10
    assert idx.remove(np.array([999_999], np.int64)) == 0
    assert len(idx) == N - 10
    _, i = idx.search(x[:10], 3)
    assert not np.isin(i, ids[:10]).any()
    idx.add(ids[:2], x[:2])
    _, i = idx.search(x[:2], 1)
    assert list(i[:, 0]) == list(ids[:2])
    idx.add(ids[:2], x[:2])  # re-adding an id replaces, never duplicates
    assert len(idx) == N - 8


def test_allowed_filter(make_index, data):
    ids, x = data
    idx = make_index()
    idx.add(ids, x)
    allowed = ids[100:110]
    s, i = idx.search(x[:3], 5, allowed=allowed)
    assert np.isin(i[i >= 0], allowed).all() and (i >= 0).sum() == 15
    _, i = idx.search(x[105:106], 1, allowed=allowed)
    assert i[0, 0] == ids[105]
    _, i = idx.search(x[:1], 5, allowed=np.array([], np.int64))
    assert (i == -1).all()


def test_small_and_empty(make_index, data):
    ids, x = data
    idx = make_index()
    s, i = idx.search(x[:2], 4)
    assert (i == -1).all() and np.isneginf(s).all()
    idx.add(ids[:3], x[:3])
    s, i = idx.search(x[:1], 4)
    assert list(i[0, :3]) != [-1, -1, -1] and i[0, 3] == -1


def test_reconcile_and_rebuild_from_store(make_index, data):
    ids, x = data
    pos = {int(t): k for k, t in enumerate(ids)}
    fetch = lambda chunk: x[[pos[int(c)] for c in chunk]]  # noqa: E731
    idx = make_index()
    idx.add(ids[:2000], x[:2000])
    store = np.concatenate([ids[500:2000], ids[2500:]])  # store lost 500, gained 500
    added, removed = reconcile(idx, store, fetch)
    assert (added, removed) == (500, 500)
    np.testing.assert_array_equal(idx.ids(), np.sort(store))
    assert reconcile(idx, store, fetch) == (0, 0)
    n = rebuild(idx, [(ids[:100], x[:100])])
    assert n == 100 and len(idx) == 100


def test_persist_and_reload(make_index, data, tmp_path):
    ids, x = data
    if make_index.kind in MILVUS:
        coll = _collection_name()
        idx = make_index(collection=coll)
    else:
        idx = make_index(path=tmp_path / "persist.faiss")
    idx.add(ids, x)
    idx.remove(ids[:5])
    idx.persist()
    idx.close()
    again = make_index(collection=coll) if make_index.kind in MILVUS else make_index(path=tmp_path / "persist.faiss")
    assert len(again) == N - 5
    _, i = again.search(x[5:20], 1)
    assert np.mean(i[:, 0] == ids[5:20]) >= 0.9
    _, i = again.search(x[:5], 2)
    assert not np.isin(i, ids[:5]).any()


def test_milvus_server_takes_a_name_milvus_lite_refused(milvus_server_uri, data):
    """milvus-lite failed to create 't0db3a88f1d' (digits and letters mixed, as in the
    gallery's `<prefix>_<model>_<key id hex>` names); a server takes it. The gallery's own
    name shape is exercised by test_store's gallery on the server."""
    ids, x = data
    idx = create_index("milvus", D, uri=milvus_server_uri, collection="t0db3a88f1d")
    try:
        idx.add(ids[:10], x[:10])
        assert len(idx) == 10
    finally:
        idx.close()


def test_auto_switches_to_compressed_beyond_exact_max(tmp_path, data):
    ids, x = data
    idx = create_index("auto", D, path=tmp_path / "auto.faiss", exact_max=2000,
                       factory="PQ16x4fs,Refine(SQ8)", k_factor=32)
    idx.add(ids[:1500], x[:1500])
    assert not idx.compressed
    idx.add(ids[1500:], x[1500:])
    assert idx.compressed and len(idx) == N
    _, i = idx.search(x[:100], 1)
    assert np.mean(i[:, 0] == ids[:100]) >= 0.97
    assert idx.describe()["kind"].startswith("PQ16")


def test_dimension_mismatch_is_a_clear_error(make_index):
    from clearsight.errors import InputError

    idx = make_index()
    with pytest.raises(InputError, match="dimension"):
        idx.add(np.array([1]), np.zeros((1, D + 1), np.float32))


def test_ivf_lists_grow_with_the_square_root_of_the_gallery():
    from clearsight.gallery.index.faiss_index import auto_factory, ivf_nlist

    assert [ivf_nlist(n) for n in (250_000, 1_000_000, 10_000_000, 100_000_000)] == [2048, 4096, 16384, 65536]
    assert ivf_nlist(3000) * 39 <= 3000  # never more lists than k-means can train
    assert auto_factory(1_000_000) == "IVF4096,PQ128x4fs,Refine(SQ8)"


def test_auto_ivf_retrains_when_the_gallery_has_grown(tmp_path, data):
    ids, x = data
    idx = create_index("auto", D, path=tmp_path / "grow.faiss", exact_max=1100, shards=2)
    idx.add(ids[:1200], x[:1200])
    first = idx.describe()
    assert idx.compressed and first["shards"] == 2 and first["kind"].startswith("IVF")
    idx.add(ids[1200:], x[1200:])  # 2.5x: same quantiser, vectors spread over both shards
    assert idx.describe()["nlist"] == first["nlist"]
    big = np.concatenate([x, x[:2000] + 0.01 * np.random.default_rng(1).standard_normal((2000, D), dtype=np.float32)])
    big /= np.linalg.norm(big, axis=1, keepdims=True)
    idx.add(np.arange(len(big), dtype=np.int64) + 10_000_000, big)  # 5000 more: past 4x what it was trained on
    grown = idx.describe()
    assert grown["nlist"] > first["nlist"] and grown["vectors"] == N + len(big)
    _, i = idx.search(x[:200], 1)
    # the original vector or its identical copy under the new id: both are exact matches
    assert np.mean((i[:, 0] == ids[:200]) | (i[:, 0] == np.arange(200) + 10_000_000)) >= 0.97


def test_index_files_survive_a_torn_write(tmp_path, data):
    """A crash while persisting leaves the previous generation readable."""
    ids, x = data
    path = tmp_path / "torn.faiss"
    idx = create_index("compressed", D, path=path, factory="auto", shards=2)
    idx.add(ids, x)
    idx.persist()
    # what a crash mid-persist leaves: a half-written next generation and a temp manifest
    (tmp_path / "torn.faiss.g2.0").write_bytes(b"\x00" * 100)
    (tmp_path / "torn.json.tmp999").write_text("{")
    again = create_index("compressed", D, path=path, factory="auto", shards=2)
    assert again.compressed and len(again) == N
    np.testing.assert_array_equal(again.ids(), np.sort(ids))
    _, i = again.search(x[:50], 1)
    assert np.mean(i[:, 0] == ids[:50]) >= 0.96


def test_ivf_early_stop_answers_clear_queries_from_the_first_lists(tmp_path):
    """A query whose best hit stands out after the first lists stops there, with the
    same answer as probing them all; a query without a clear winner probes them all."""
    rng = np.random.default_rng(3)
    n = 20_000
    x = rng.standard_normal((n, D)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.arange(n, dtype=np.int64) + 100
    idx = create_index("compressed", D, path=tmp_path / "stop.faiss", factory="auto", shards=2, stop_gap=0.2)
    idx.add(ids, x)
    d = idx.describe()
    assert d["first_probes"] < d["nprobe"] and d["queries"] == 0
    near = x[:100] + 0.05 * rng.standard_normal((100, D)).astype(np.float32)  # fresh samples of stored vectors
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    s, i = idx.search(near, 5)
    assert np.mean(i[:, 0] == ids[:100]) >= 0.98
    d = idx.describe()
    assert d["queries"] == 100 and d["stopped_early"] >= 90  # clear winners: answered from the first lists
    idx.tune(stop_gap=0.0)  # off: every query probes all lists, same top hit
    _, i_full = idx.search(near, 5)
    assert np.array_equal(i_full[:, 0], i[:, 0])
    idx.tune(stop_gap=0.2)
    far = rng.standard_normal((100, D)).astype(np.float32)  # no stored vector near: no clear winner
    far /= np.linalg.norm(far, axis=1, keepdims=True)
    _, i_far = idx.search(far, 5)
    assert idx.describe()["stopped_early"] - d["stopped_early"] <= 10
    exact = np.argmax(far @ x.T, axis=1) + 100
    assert np.mean(i_far[:, 0] == exact) >= 0.9  # the rest probed all lists: still the exact neighbour


def test_the_auto_stop_gap_is_the_measured_one_at_each_size_and_log_interpolated_between():
    from clearsight.gallery.index.faiss_index import AUTO_STOP_GAPS, FaissIndex

    idx = FaissIndex(D)
    for n, gap in AUTO_STOP_GAPS:
        assert idx.gap_for(n) == pytest.approx(gap)
    assert idx.gap_for(1000) == pytest.approx(0.012) and idx.gap_for(10**9) == pytest.approx(0.006)  # held outside
    assert idx.gap_for(int(10**7.5)) == pytest.approx(0.007)  # halfway in log size
    sizes = np.logspace(5, 9, 40).astype(int)
    assert np.all(np.diff([idx.gap_for(int(n)) for n in sizes]) <= 0)  # larger galleries, smaller margins


def test_shards_sharing_one_quantiser_call_return_what_index_shards_return(tmp_path, data):
    """Large IVF galleries rank the lists once for all shards and re-score each shard's
    shortlist from its SQ8 codes: the same hits and scores as FAISS's own IndexShards."""
    ids, x = data
    idx = create_index("compressed", D, path=tmp_path / "shared.faiss", factory="auto", shards=2, stop_gap=0.0)
    idx.add(ids, x)
    q = x[:200] + 0.02 * np.random.default_rng(5).standard_normal((200, D)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    idx.shared_quantizer_from = 10**9  # never: IndexShards over IDMap(IndexRefine)
    s_ref, i_ref = idx.search(q, 10)
    idx.shared_quantizer_from = 0  # always
    s, i = idx.search(q, 10)
    np.testing.assert_array_equal(i[:, 0], i_ref[:, 0])
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(i, i_ref)]) >= 0.99
    np.testing.assert_allclose(s[:, 0], s_ref[:, 0], atol=1e-5)
    idx.remove(ids[:5])  # tombstones and re-adds keep working on the shared path
    _, i = idx.search(x[:5], 1)
    assert not np.isin(i, ids[:5]).any()
    idx.add(ids[:5], x[:5])
    _, i = idx.search(x[:5], 1)
    np.testing.assert_array_equal(i[:, 0], ids[:5])


def test_milvus_lite_falls_back_from_a_name_it_cannot_index_and_finds_it_again(milvus_uri, data):
    """milvus-lite fails to index some collection names ('t_cfhdmjookgge' failed a CI run)
    and leaves the collection behind without its index: the index takes the next name of
    a fixed list, and a reopen finds that one, vectors included."""
    ids, x = data
    idx = create_index("milvus", D, uri=milvus_uri, collection="t_cfhdmjookgge")
    assert idx.collection.startswith("t_cfhdmjookgge")
    idx.add(ids[:10], x[:10])
    idx.persist()
    used = idx.collection
    idx.close()
    again = create_index("milvus", D, uri=milvus_uri, collection="t_cfhdmjookgge")
    assert again.collection == used and len(again) == 10
    _, found = again.search(x[:3], 1)
    assert found[:, 0].tolist() == ids[:3].tolist()
    again.close()
