"""Load test of the service: requests/s and p50/p99 latency of POST /v1/verify and
POST /v1/search at 1, 4, 16 and 64 concurrent clients (60 s client timeout), against a
real `clearsight serve` on a fresh data dir with a gallery enrolled from LFW, once with
1 inference worker and once with N (default: one per core). Then an open-loop run: a
fixed arrival rate (evenly spaced sends) at 80% of the capacity measured with N workers,
for `--open-loop-duration` seconds, whose p99 is compared with the p99 of one client
over as long a run.

Side by side, in the same run, the peer a user would otherwise write: a minimal
FastAPI service around `face_recognition` (its README's HOG + dlib ResNet recipe,
linear search over the enrolled encodings), served by the same uvicorn, loaded by
the same client. Both answer over HTTP with multipart uploads of the same photos.

    .venv/bin/python bench/load.py [--duration 10] [--gallery 150] [--concurrency 1 4 16 64]
                                   [--workers 1 2] [--no-peer]

Timings depend on the machine and on whatever else runs on it; the table header
says how many cores this run saw and the load average (`uptime`) before and after.
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
CLIENT_TIMEOUT_S = 60.0  # the acceptance bar: no request may fail at 64 clients with this timeout


# ---------------------------------------------------------------- the peer service
def peer_app():
    """What a developer would write with face_recognition: same two endpoints, no auth,
    no consent, no audit; encodings kept in a Python list."""
    import face_recognition
    from fastapi import FastAPI, File, Form, UploadFile

    app = FastAPI()
    gallery: list[tuple[str, np.ndarray]] = []
    lock = threading.Lock()  # dlib's models are not thread-safe
    waiting = [0]  # encodings queued or running: what the benchmark drains between cells
    count_lock = threading.Lock()

    def count(delta: int) -> None:
        with count_lock:
            waiting[0] += delta

    def encode(data: bytes) -> np.ndarray | None:
        import io

        img = face_recognition.load_image_file(io.BytesIO(data))
        count(1)
        try:
            with lock:
                enc = face_recognition.face_encodings(img)
        finally:
            count(-1)
        return enc[0] if enc else None

    @app.get("/inflight")
    def inflight() -> dict:
        return {"in_flight": waiting[0]}

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


def _server_priority() -> None:
    """In a service's process before it starts: the normal priority, when the load generator
    lowered its own (`--client-nice`)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    except PermissionError:  # only root may raise a priority back: the service stays at the client's
        pass


def start_clearsight(data_dir: Path, workers: int) -> tuple[subprocess.Popen, str, dict[str, str]]:
    from clearsight.config import Settings
    from clearsight.server.auth import KeyStore

    port = _free_port()
    env = {**os.environ, "CLEARSIGHT_MODELS_DIR": str(Settings().model_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("CLEARSIGHT_DATA_DIR", None)
    log = open(data_dir / "server.log", "w")
    proc = subprocess.Popen(
        preexec_fn=_server_priority,
        args=[sys.executable, "-m", "clearsight.cli", "serve", "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning",
         "--workers", str(workers)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    _wait(base + "/readyz", proc)
    # the benchmark measures throughput, not the rate limiter: a key with a huge budget
    store = KeyStore.open(Settings(data_dir=data_dir))
    _, key = store.create("operator", "bench/load.py", rate_limit=10**9)
    store.close()
    return proc, base, {"Authorization": f"Bearer {key}"}


def start_peer() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    code = (
        "import sys; sys.path.insert(0, %r); import load, uvicorn; "
        "uvicorn.run(load.peer_app(), host='127.0.0.1', port=%d, log_level='warning')" % (str(Path(__file__).parent), port)
    )
    proc = subprocess.Popen([sys.executable, "-c", code], preexec_fn=_server_priority)
    base = f"http://127.0.0.1:{port}"
    _wait(base + "/docs", proc)
    return proc, base


# ---------------------------------------------------------------- load
def _summary(lat: list[float], errors: dict[str, int], elapsed: float) -> dict:
    """A cell's figures: answered requests, their rate, p50/p99 in ms and the failures by kind."""
    arr = np.asarray(lat) * 1000
    return {
        "n": len(lat),
        "rps": len(lat) / elapsed if elapsed else 0.0,
        "p50": float(np.percentile(arr, 50)) if len(arr) else float("nan"),
        "p99": float(np.percentile(arr, 99)) if len(arr) else float("nan"),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
    }


async def run_load(url: str, make_request, concurrency: int, duration: float) -> dict:
    import httpx

    lat: list[float] = []
    errors: dict[str, int] = defaultdict(int)
    stop = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT_S, limits=limits) as client:

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
    return _summary(lat, errors, elapsed)


async def run_open_loop(url: str, make_request, rate: float, duration: float) -> dict:
    """A fixed arrival rate (one request every 1/rate s, whatever the answers do):
    latency counts from the scheduled send, so queueing in the client counts too."""
    import httpx

    lat: list[float] = []
    errors: dict[str, int] = defaultdict(int)
    n = max(1, int(rate * duration))
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT_S, limits=limits) as client:
        t0 = time.perf_counter()

        async def one(i: int) -> None:
            due = t0 + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            try:
                r = await make_request(client, url)
                if r.status_code != 200:
                    errors[str(r.status_code)] += 1
                    return
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
                return
            lat.append(time.perf_counter() - due)

        await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = time.perf_counter() - t0
    return _summary(lat, errors, elapsed)


def inference_share(probe_a: bytes, probe_b: bytes, rounds: int = 10) -> float:
    """Median time of the model work one verify does (two decodes, detections and
    embeddings), in this process, in ms: what a worker process takes off the service."""
    from clearsight.face.pipeline import FacePipeline
    from clearsight.io import load_image

    pipe = FacePipeline()
    pipe.primary_template(load_image(probe_a))
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        pipe.primary_template(load_image(probe_a))
        pipe.primary_template(load_image(probe_b))
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1000)


def drain(base: str, peer: bool = False, timeout: float = 600.0) -> None:
    """Wait until a service has finished the requests of the last cell: a client that
    timed out leaves its request queued on the server, which would slow the next cell."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if peer:
                busy = httpx.get(base + "/inflight", timeout=10).json()["in_flight"] > 0
            else:
                text = httpx.get(base + "/metrics", timeout=10).text
                line = next((x for x in text.splitlines() if x.startswith("clearsight_http_in_flight")), "")
                busy = bool(line) and float(line.split()[-1]) > 1.0  # the /metrics request itself
        except httpx.HTTPError:
            return
        time.sleep(1.0)
        if not busy:
            return


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _cell(res: dict) -> object:
    return res["errors"] if not res["errors"] else f"{res['errors']} {res['error_kinds']}"


def cell(rows: list, base: str, fn, endpoint: str, conc: int, system: str, duration: float,  # noqa: ANN001
         peer: bool = False) -> dict:
    """One (endpoint, clients) cell from an idle service: its row appended, its result returned."""
    drain(base, peer=peer)
    res = asyncio.run(run_load(base, fn, conc, duration))
    rows.append((endpoint, conc, system, res["n"], round(res["rps"], 2), round(res["p50"], 1), round(res["p99"], 1),
                 _cell(res)))
    print(f"  {endpoint} c={conc} {system}: {res['rps']:.2f} req/s, errors {res['errors']}", flush=True)
    return res


def main() -> None:
    from clearsight.server.inference import default_workers

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per (endpoint, concurrency) cell")
    ap.add_argument("--gallery", type=int, default=150, help="LFW identities enrolled before searching")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    ap.add_argument("--workers", type=int, nargs="+", default=sorted({1, default_workers()}),
                    help="inference worker counts to measure (clearsight serve --workers)")
    ap.add_argument("--open-loop", type=float, default=0.8,
                    help="arrival rate of the open-loop run, as a share of the measured verify capacity (0: skip)")
    ap.add_argument("--open-loop-duration", type=float, default=60.0,
                    help="seconds of the open-loop run, and of the 1-client run whose p99 it is compared with")
    ap.add_argument("--no-peer", action="store_true", help="skip the face_recognition peer")
    ap.add_argument("--client-nice", type=int, default=0,
                    help="lower the load generator's priority by this much (the services keep theirs, as root): "
                         "on one machine, the client then takes little CPU from the service, as a client on "
                         "another machine would take none")
    args = ap.parse_args()
    if args.client_nice:
        os.nice(args.client_nice)

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
    load_before = _load()

    async def cs_verify(client, url, auth):
        return await client.post(url + "/v1/verify", headers=auth, files={"image_a": ("a.jpg", probe_a), "image_b": ("b.jpg", probe_b)})

    async def cs_search(client, url, auth):
        return await client.post(
            url + "/v1/search", headers=auth, files={"image": ("q.jpg", probe_search)}, data={"purpose": PURPOSE, "top_k": "5"}
        )

    rows: list[tuple] = []
    speedups: list[tuple] = []
    open_rows: list[tuple] = []
    procs: list[subprocess.Popen] = []
    tmps: list[Path] = []
    enrolled = 0
    try:
        # ---- clearsight, once per worker count (a fresh data dir each: same gallery, same enrolment)
        for workers in args.workers:
            tmp = Path(tempfile.mkdtemp(prefix="clearsight-load-"))
            tmps.append(tmp)
            t0 = time.perf_counter()
            proc, base, auth = start_clearsight(tmp, workers)
            procs.append(proc)
            startup = time.perf_counter() - t0
            enrolled = 0
            with httpx.Client(timeout=60, headers=auth) as c:
                for name, img in enrol_set:
                    r = c.post(base + "/v1/identities", json={"display_name": name})
                    iid = r.json()["id"]
                    c.post(f"{base}/v1/identities/{iid}/consents",
                           json={"purpose": PURPOSE, "legal_basis": "consent", "granted_by": name})
                    r = c.post(f"{base}/v1/identities/{iid}/faces", files={"image": ("f.jpg", img)})
                    enrolled += r.status_code == 201
            print(f"clearsight --workers {workers}: ready in {startup:.1f} s; enrolled {enrolled}/{len(enrol_set)}",
                  flush=True)
            system = f"clearsight serve --workers {workers}"
            fns = {"POST /v1/verify": lambda c, u, a=auth: cs_verify(c, u, a),
                   "POST /v1/search": lambda c, u, a=auth: cs_search(c, u, a)}
            for fn in fns.values():  # warm every worker (lazy loads, first-call costs)
                asyncio.run(run_load(base, fn, max(workers, 1) * 2, 1.0))
            measured: dict[tuple[str, int], dict] = {}
            for endpoint, fn in fns.items():
                for conc in args.concurrency:
                    measured[(endpoint, conc)] = cell(rows, base, fn, endpoint, conc, system, args.duration)
                one = measured.get((endpoint, 1))
                four = measured.get((endpoint, 4))
                if one and four and one["rps"]:
                    speedups.append((endpoint, system, round(one["rps"], 2), round(four["rps"], 2),
                                     round(four["rps"] / one["rps"], 2)))
            if args.open_loop > 0 and workers == max(args.workers):
                for endpoint, fn in fns.items():
                    capacity = max(measured[(endpoint, c)]["rps"] for c in args.concurrency)
                    rate = capacity * args.open_loop
                    # the unloaded p99 from as long a run as the loaded one: two p99s of samples of
                    # one size (a 10 s cell's p99 is its 2nd-3rd worst request)
                    drain(base)
                    unloaded = asyncio.run(run_load(base, fn, 1, args.open_loop_duration))
                    drain(base)
                    res = asyncio.run(run_open_loop(base, fn, rate, args.open_loop_duration))
                    ratio = res["p99"] / unloaded["p99"] if unloaded and unloaded["p99"] else float("nan")
                    open_rows.append((endpoint, system, round(capacity, 2), round(rate, 2), res["n"],
                                      round(res["p50"], 1), round(res["p99"], 1),
                                      round(unloaded["p99"], 1) if unloaded else float("nan"), round(ratio, 2),
                                      _cell(res)))
                    print(f"  open loop {endpoint} at {rate:.2f} req/s: p99 {res['p99']:.0f} ms", flush=True)
            proc.terminate()
            proc.wait(timeout=60)

        # ---- the peer, in the same run
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

                system = "face_recognition 1.3.0 + FastAPI (peer)"
                for endpoint, fn in (("POST /v1/verify", fr_verify), ("POST /v1/search", fr_search)):
                    asyncio.run(run_load(pbase, fn, 1, 0.5))
                    for conc in args.concurrency:
                        cell(rows, pbase, fn, endpoint, conc, system, args.duration, peer=True)
        model_ms = inference_share(probe_a, probe_b)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
        for t in tmps:
            shutil.rmtree(t, ignore_errors=True)

    rows.sort(key=lambda r: (r[0], r[1]))
    machine = (f"{os.cpu_count()} cores, load average {load_before} before, {_load()} after"
               + (f", client at nice {args.client_nice}" if args.client_nice else ""))
    table(("endpoint", "clients", "system", "requests", "req/s", "p50 ms", "p99 ms", "errors"), rows,
          title=f"Service load ({machine}; {args.duration:.0f} s per cell, {CLIENT_TIMEOUT_S:.0f} s client timeout, "
                f"gallery {enrolled} identities)")
    table(("endpoint", "system", "req/s 1 client", "req/s 4 clients", "4 vs 1"), speedups,
          title="Scaling with clients (acceptance: verify with --workers 2 on 2 cores, 4 vs 1 >= 1.6)")
    if open_rows:
        table(("endpoint", "system", "capacity req/s", "arrivals req/s", "requests", "p50 ms", "p99 ms",
               f"unloaded p99 ms (1 client, {args.open_loop_duration:.0f} s)", "p99 vs unloaded", "errors"), open_rows,
              title=f"Fixed arrival rate at {args.open_loop:.0%} of the measured capacity (acceptance: p99 <= 2x unloaded)")
    one_client = [r for r in rows if r[0] == "POST /v1/verify" and r[1] == 1 and r[2].endswith("--workers 1")]
    if one_client:
        print(f"\nModel work of one verify in process: {model_ms:.0f} ms of a {one_client[0][5]} ms p50 "
              f"({model_ms / float(one_client[0][5]):.0%}): the share a worker process takes off the service.")


if __name__ == "__main__":
    main()
