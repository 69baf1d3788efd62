"""The gallery's exact FaissIndex (in process) beside the gallery's MilvusIndex on a real
Milvus 2.3.5 server (the `milvus` wheel's standalone binary, started here on free loopback
ports), both exact inner product over the same unit vectors: recall@1 against exact search,
single-query p50/p99, batch QPS and load time. Quick: it needs no LFW embeddings (unlike
bench/search.py, whose 1M row runs the same MilvusIndex on LFW-fitted vectors).

    .venv/bin/python bench/search_milvus.py 1000000
"""
import os, sys, time, tempfile
from pathlib import Path
import numpy as np
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "bench"))
from _common import table
import faiss
from tests.milvus_server import milvus_server
from clearsight.gallery.index.faiss_index import FaissIndex
from clearsight.gallery.index.milvus_index import MilvusIndex

n, d, nq = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000, 128, 300
rng = np.random.default_rng(0)
xb = rng.standard_normal((n, d), dtype=np.float32); xb /= np.linalg.norm(xb, axis=1, keepdims=True)
own = rng.integers(0, n, nq)
xq = xb[own] + 0.03 * rng.standard_normal((nq, d), dtype=np.float32); xq /= np.linalg.norm(xq, axis=1, keepdims=True)
gt = faiss.knn(xq, xb, 10, metric=faiss.METRIC_INNER_PRODUCT)[1]
faiss.omp_set_num_threads(1)
rows = []
def record(name, search, build):
    t0 = time.perf_counter(); I = search(xq); qps = nq / (time.perf_counter() - t0)
    ms = []
    for i in range(100):
        t = time.perf_counter(); search(xq[i:i+1]); ms.append((time.perf_counter() - t) * 1000)
    r1 = float(np.mean(I[:, 0] == gt[:, 0]))
    rows.append((f"{n/1e6:g}M", name, r1, np.percentile(ms, 50), np.percentile(ms, 99), qps, build))
    print(rows[-1], flush=True)
with tempfile.TemporaryDirectory() as tmp:
    t0 = time.time(); f = FaissIndex(d, kind="flat", path=Path(tmp) / "x.faiss"); f.add(np.arange(n, dtype=np.int64), xb)
    record("FaissIndex flat (exact IP), in process, 1 thread", lambda q: f.search(q, 10)[1], time.time() - t0)
with tempfile.TemporaryDirectory(dir="/tmp") as tmp, milvus_server(Path(tmp)) as uri:
    t0 = time.time(); m = MilvusIndex(d, uri=uri, collection="bench_search")
    for s in range(0, n, 50_000):
        m.add(np.arange(s, min(s + 50_000, n), dtype=np.int64), xb[s:s+50_000])
    m.persist(); assert len(m) == n
    record("MilvusIndex (FLAT IP) on a Milvus 2.3.5 server, gRPC on loopback", lambda q: m.search(q, 10)[1], time.time() - t0)
    m.close()
l = ", ".join(f"{x:.1f}" for x in os.getloadavg())
table(("gallery", "index", "recall@1 vs exact", "p50 ms", "p99 ms", f"batch QPS ({nq} queries/call)", "build/load s"), rows,
      title=f"FAISS in process vs a Milvus server, {n:,} unit vectors d={d} (2 cores, load average {l})")
