"""Load test of the service: requests/s and p50/p99 latency of POST /v1/verify and
POST /v1/search at 1, 4 and 16 concurrent clients, against a real `clearsight serve`
on a fresh data dir with a gallery enrolled from LFW.

Side by side, in the same run, the peer a user would otherwise write: a minimal
FastAPI service around `face_recognition` (its README's HOG + dlib ResNet recipe,
linear search over the enrolled encodings), served by the same uvicorn, loaded by
the same client. Both answer over HTTP with multipart uploads of the same photos.

    .venv/bin/python bench/load.py [--duration 10] [--gallery 150] [--concurrency 1 4 16] [--no-peer]

Timings depend on the machine and on whatever else runs on it; the table header
says how many cores this run saw.
"""


import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import lfw_identification_subset, require_data, table  # noqa: E402

PURPOSE = "access"


# ---------------------------------------------------------------- the peer service
def peer_app():
    """What a developer would write with face_recognition: same two endpoints, no auth,
    no consent, no audit; encodings kept in a Python list."""
    import face_recognition
    from fastapi import FastAPI, File, Form, UploadFile

    app = FastAPI()
    gallery: list[tuple[str, np.ndarray]] = []
    lock = threading.Lock()  # dlib's models are not thread-safe

    def encode(data: bytes) -> np.ndarray | None:
        import io

        img = face_recognition.load_image_file(io.BytesIO(data))
        with lock:
            enc = face_recognition.face_encodings(img)
        return enc[0] if enc else None

    @app.post("/enrol")
    def enrol(name: str = Form(...), image: UploadFile = File(...)) -> dict:
        e = encode(image.file.read())
        if e is None:
            return {"ok": False}
        gallery.append((name, e))
        return {"ok": True}

    @app.post("/verify")
    def verify(image_a: UploadFile = File(...), image_b: UploadFile = File(...)) -> dict:
        a, b = encode(image_a.file.read()), encode(image_b.file.read())
        if a is None or b is None:
            return {"match": None}
        d = float(np.linalg.norm(a - b))
        return {"distance": d, "match": d <= 0.6}

    @app.post("/search")
    def search(image: UploadFile = File(...), top_k: int = Form(5)) -> dict:
        q = encode(image.file.read())
        if q is None or not gallery:
            return {"matches": []}
        names = [n for n, _ in gallery]
        d = face_recognition.face_distance(np.stack([e for _, e in gallery]), q)
        order = np.argsort(d)[:top_k]
        return {"matches": [{"name": names[i], "distance": float(d[i])} for i in order]}

    return app


# ---------------------------------------------------------------- servers
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    sys.exit(f"{url} not ready after {timeout} s")


def start_clearsight(data_dir: Path) -> tuple[subprocess.Popen, str, dict[str, str]]:
    from clearsight.config import Settings
    from clearsight.server.auth import KeyStore

    port = _free_port()
    env = {**os.environ, "CLEARSIGHT_MODELS_DIR": str(Settings().model_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("CLEARSIGHT_DATA_DIR", None)
    log = open(data_dir / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "clearsight.cli", "serve", "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    _wait(base + "/readyz", proc)
    # the benchmark measures throughput, not the rate limiter: a key with a huge budget
    store = KeyStore.for_data_dir(data_dir)
    _, key = store.create("operator", "bench/load.py", rate_limit=10**9)
    store.close()
    return proc, base, {"Authorization": f"Bearer {key}"}


def start_peer() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    code = (
        "import sys; sys.path.insert(0, %r); import load, uvicorn; "
        "uvicorn.run(load.peer_app(), host='127.0.0.1', port=%d, log_level='warning')" % (str(Path(__file__).parent), port)
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    base = f"http://127.0.0.1:{port}"
    _wait(base + "/docs", proc)
    return proc, base


# ---------------------------------------------------------------- load
async def run_load(url: str, make_request, concurrency: int, duration: float) -> dict:
    import httpx

    lat: list[float] = []
    errors: dict[str, int] = defaultdict(int)
    stop = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def worker() -> None:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    r = await make_request(client, url)
                    ok = r.status_code == 200
                    if not ok:
                        errors[str(r.status_code)] += 1
                except httpx.HTTPError as exc:
                    ok = False
                    errors[type(exc).__name__] += 1
                if ok:
                    lat.append(time.perf_counter() - t0)

        t_start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t_start
    arr = np.asarray(lat) * 1000
    return {
        "n": len(lat),
        "rps": len(lat) / elapsed if elapsed else 0.0,
        "p50": float(np.percentile(arr, 50)) if len(arr) else float("nan"),
        "p99": float(np.percentile(arr, 99)) if len(arr) else float("nan"),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per (endpoint, concurrency) cell")
    ap.add_argument("--gallery", type=int, default=150, help="LFW identities enrolled before searching")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--no-peer", action="store_true", help="skip the face_recognition peer")
    args = ap.parse_args()

    import httpx

    ex = require_data("faces", "face_recognition_examples", "examples")
    probe_a = (ex / "obama.jpg").read_bytes()
    probe_b = (ex / "obama2.jpg").read_bytes()
    probe_search = (ex / "knn_examples" / "test" / "obama1.jpg").read_bytes()
    seen: dict[str, str] = {}
    for path, ident in lfw_identification_subset():
        seen.setdefault(ident, path)
    enrol_set = [(ident, Path(p).read_bytes()) for ident, p in list(seen.items())[: args.gallery]]
    enrol_set.append(("Barack Obama (examples)", (ex / "obama.jpg").read_bytes()))

    systems = []
    procs: list[subprocess.Popen] = []
    tmp = Path(tempfile.mkdtemp(prefix="clearsight-load-"))
    try:
        t0 = time.perf_counter()
        proc, base, auth = start_clearsight(tmp)
        procs.append(proc)
        startup = time.perf_counter() - t0
        enrolled = 0
        with httpx.Client(timeout=60, headers=auth) as c:
            for name, img in enrol_set:
                r = c.post(base + "/v1/identities", json={"display_name": name})
                iid = r.json()["id"]
                c.post(f"{base}/v1/identities/{iid}/consents", json={"purpose": PURPOSE, "legal_basis": "consent", "granted_by": name})
                r = c.post(f"{base}/v1/identities/{iid}/faces", files={"image": ("f.jpg", img)})
                enrolled += r.status_code == 201
        print(f"clearsight: ready in {startup:.1f} s (fresh data dir, models loaded); enrolled {enrolled}/{len(enrol_set)}", flush=True)

        async def cs_verify(client, url):
            return await client.post(url + "/v1/verify", headers=auth, files={"image_a": ("a.jpg", probe_a), "image_b": ("b.jpg", probe_b)})

        async def cs_search(client, url):
            return await client.post(
                url + "/v1/search", headers=auth, files={"image": ("q.jpg", probe_search)}, data={"purpose": PURPOSE, "top_k": "5"}
            )

        systems.append(("clearsight serve", base, cs_verify, cs_search))

        if not args.no_peer:
            try:
                import face_recognition  # noqa: F401
            except ImportError:
                print("face_recognition not installed: peer skipped", flush=True)
            else:
                pproc, pbase = start_peer()
                procs.append(pproc)
                penrolled = 0
                with httpx.Client(timeout=60) as c:
                    for name, img in enrol_set:
                        penrolled += c.post(pbase + "/enrol", data={"name": name}, files={"image": ("f.jpg", img)}).json()["ok"]
                print(f"peer: enrolled {penrolled}/{len(enrol_set)}", flush=True)

                async def fr_verify(client, url):
                    return await client.post(url + "/verify", files={"image_a": ("a.jpg", probe_a), "image_b": ("b.jpg", probe_b)})

                async def fr_search(client, url):
                    return await client.post(url + "/search", files={"image": ("q.jpg", probe_search)}, data={"top_k": "5"})

                systems.append(("face_recognition 1.3.0 + FastAPI (peer)", pbase, fr_verify, fr_search))

        for _name, url, v, sfn in systems:  # warm both paths (lazy loads, first-call costs)
            asyncio.run(run_load(url, v, 1, 0.5))
            asyncio.run(run_load(url, sfn, 1, 0.5))
        rows = []
        for endpoint, idx in (("POST /v1/verify", 2), ("POST /v1/search", 3)):
            for conc in args.concurrency:
                for name, url, *fns in systems:
                    make = fns[idx - 2]
                    res = asyncio.run(run_load(url, make, conc, args.duration))
                    rows.append(
                        (endpoint, conc, name, res["n"], round(res["rps"], 2), round(res["p50"], 1), round(res["p99"], 1),
                         res["errors"] if not res["errors"] else f"{res['errors']} {res['error_kinds']}")
                    )
                    print(f"  {endpoint} c={conc} {name}: {res['rps']:.2f} req/s", flush=True)
        table(
            ("endpoint", "clients", "system", "requests", "req/s", "p50 ms", "p99 ms", "errors"),
            rows,
            title=f"Service load ({os.cpu_count()} cores, {args.duration:.0f} s per cell, gallery {enrolled} identities)",
        )
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
