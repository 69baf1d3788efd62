"""`clearsight serve --workers 2` as a real process, loaded by real concurrent clients:
inference runs in two worker processes, every write lands, and consent withdrawal,
erasure and key revocation hold for every request in flight after them, whichever
worker computes its templates."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import data_path

pytestmark = pytest.mark.integration

EXAMPLES = ("faces", "face_recognition_examples", "examples")
KNN = (*EXAMPLES, "knn_examples")
PURPOSE = "access"
PEOPLE = {  # name -> (enrolment photo, a different photo to search with)
    "Barack Obama": (("train", "obama", "obama.jpg"), ("test", "obama1.jpg")),
    "Joe Biden": (("train", "biden", "biden.jpg"), ("train", "biden", "biden2.jpg")),
    "Kit Harington": (("train", "kit_harington", "john1.jpeg"), ("train", "kit_harington", "john2.jpeg")),
    "Alex Lacamoire": (("train", "alex_lacamoire", "img1.jpg"), ("test", "alex_lacamoire1.jpg")),
}


def _photo(*parts: str) -> bytes:
    return data_path(*KNN, *parts).read_bytes()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawned_workers(pid: int) -> list[int]:
    """Child processes of `pid` that multiprocessing spawned as pool workers."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in cmd:
            out.append(int(d.name))
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import httpx

    from clearsight.config import Settings
    from clearsight.server.auth import KeyStore

    if not sys.platform.startswith("linux"):
        pytest.skip("counts worker processes through /proc")
    data = tmp_path_factory.mktemp("workers")
    port = _free_port()
    env = {**os.environ, "CLEARSIGHT_MODELS_DIR": str(Settings().model_dir),
           "CLEARSIGHT_SECRETS_DIR": str(tmp_path_factory.mktemp("workers-keys")), "PYTHONUNBUFFERED": "1"}
    env.pop("CLEARSIGHT_DATA_DIR", None)
    log = open(data / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "clearsight.cli", "serve", "--port", str(port), "--data-dir",
                             str(data), "--workers", "2", "--log-level", "warning"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    try:
        while True:
            assert proc.poll() is None, (data / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the service did not become ready"
            try:
                if httpx.get(base + "/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        store = KeyStore.open(Settings(data_dir=data))
        keys = {role: store.create(role, f"test {role}", rate_limit=100_000)[1] for role in ("operator", "client")}
        yield SimpleNamespace(base=base, proc=proc, store=store, keys=keys, ids={})
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _search(base: str, key: str, photo: bytes):  # noqa: ANN202
    import httpx

    return httpx.post(base + "/v1/search", headers=_auth(key), files={"image": ("q.jpg", photo)},
                      data={"purpose": PURPOSE, "top_k": "3"}, timeout=120)


def _matched(resp) -> set[str]:  # noqa: ANN001
    assert resp.status_code == 200, resp.text
    return {m["identity_id"] for f in resp.json()["faces"] for m in f["matches"] if m["match"]}


def test_concurrent_clients_lose_no_write_and_use_every_worker(server):
    import httpx

    base, proc, keys = server.base, server.proc, server.keys
    op, client = _auth(keys["operator"]), _auth(keys["client"])
    assert len(_spawned_workers(proc.pid)) == 2

    def enrol(name: str) -> str:
        with httpx.Client(base_url=base, headers=op, timeout=120) as c:
            r = c.post("/v1/identities", json={"display_name": name})
            assert r.status_code == 201, r.text
            iid = r.json()["id"]
            r = c.post(f"/v1/identities/{iid}/consents",
                       json={"purpose": PURPOSE, "legal_basis": "consent", "granted_by": name})
            assert r.status_code == 201, r.text
            r = c.post(f"/v1/identities/{iid}/faces", files={"image": ("p.jpg", _photo(*PEOPLE[name][0]))})
            assert r.status_code == 201, r.text
            return iid

    def bare(i: int) -> str:
        r = httpx.post(base + "/v1/identities", headers=op, json={"display_name": f"visitor {i}"}, timeout=120)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    a, b = (data_path(*EXAMPLES, n).read_bytes() for n in ("obama.jpg", "obama2.jpg"))

    def verify(_: int) -> bool:
        r = httpx.post(base + "/v1/verify", headers=client, timeout=120,
                       files={"image_a": ("a.jpg", a), "image_b": ("b.jpg", b)})
        assert r.status_code == 200, r.text
        return r.json()["match"]

    with ThreadPoolExecutor(16) as pool:
        enrolled = {n: pool.submit(enrol, n) for n in PEOPLE}
        bares = [pool.submit(bare, i) for i in range(24)]
        verifies = [pool.submit(verify, i) for i in range(16)]
        ids = {n: f.result() for n, f in enrolled.items()}
        bare_ids = {f.result() for f in bares}
        assert all(f.result() for f in verifies)  # the same pair, the same answer, from either worker
    assert len(bare_ids) == 24

    listed = set()
    with httpx.Client(base_url=base, headers=op, timeout=60) as c:
        cursor = None
        while True:
            r = c.get("/v1/identities", params={"limit": 100, **({"cursor": cursor} if cursor else {})})
            assert r.status_code == 200, r.text
            page = r.json()
            listed |= {i["id"] for i in page["items"]}
            cursor = page.get("next_cursor")
            if not cursor:
                break
    assert set(ids.values()) | bare_ids <= listed  # no lost write

    with ThreadPoolExecutor(8) as pool:  # every enrolment is seen by every search
        found = {n: pool.submit(_search, base, keys["operator"], _photo(*PEOPLE[n][1])) for n in PEOPLE}
        for n, f in found.items():
            assert _matched(f.result()) == {ids[n]}, n
    server.ids.update(ids)  # for the next test (same module, same server)


def test_withdrawal_erasure_and_revocation_hold_for_every_request_after_them(server):
    import httpx

    base, store, keys, ids = server.base, server.store, server.keys, server.ids
    if not ids:
        pytest.skip("needs the enrolments of the test before")
    op = _auth(keys["operator"])
    obama, biden = ids["Barack Obama"], ids["Joe Biden"]
    q_obama, q_biden = _photo(*PEOPLE["Barack Obama"][1]), _photo(*PEOPLE["Joe Biden"][1])

    consents = httpx.get(f"{base}/v1/identities/{obama}/consents", headers=op, timeout=60).json()
    for c in consents:
        r = httpx.delete(f"{base}/v1/consents/{c['id']}", headers=op, timeout=60)
        assert r.status_code == 200, r.text
    r = httpx.delete(f"{base}/v1/identities/{biden}", headers=op, timeout=60)
    assert r.status_code == 200, r.text

    with ThreadPoolExecutor(8) as pool:
        after = [pool.submit(_search, base, keys["operator"], q) for q in (q_obama, q_biden) * 4]
        for f in after:
            assert not _matched(f.result()) & {obama, biden}
        # a third person still matches: the searches ran, they just no longer find those two
        kit = pool.submit(_search, base, keys["operator"], _photo(*PEOPLE["Kit Harington"][1]))
        assert _matched(kit.result()) == {ids["Kit Harington"]}

    # revoked in the database by another process (what `clearsight keys revoke` does)
    client_id = keys["client"].split("_")[1]
    store.revoke(client_id)
    a = data_path(*EXAMPLES, "obama.jpg").read_bytes()

    def verify(_: int) -> int:
        return httpx.post(base + "/v1/verify", headers=_auth(keys["client"]), timeout=120,
                          files={"image_a": ("a.jpg", a), "image_b": ("b.jpg", a)}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(verify, range(8))) == [401] * 8


def test_detect_embed_and_a_faceless_search_through_the_workers(server):
    """The other routes whose model work moved to the workers answer as in one process:
    faces with quality and crops, a deterministic template, the no-face problem."""
    import io

    import httpx
    import numpy as np
    from PIL import Image

    base, key = server.base, server.keys["operator"]
    photo = data_path(*EXAMPLES, "obama.jpg").read_bytes()
    with httpx.Client(base_url=base, headers=_auth(key), timeout=120) as c:
        r = c.post("/v1/detect", files={"image": ("p.jpg", photo)}, data={"quality": "true", "crops": "true"})
        assert r.status_code == 200, r.text
        faces = r.json()["faces"]
        assert len(faces) == 1 and faces[0]["quality"]["passed"] and faces[0]["crop"].startswith("data:image/jpeg")
        vectors = [c.post("/v1/embed", files={"image": ("p.jpg", photo)}).json()["vector"] for _ in range(3)]
        assert len(vectors[0]) >= 128 and np.allclose(vectors[0], vectors[1]) and np.allclose(vectors[0], vectors[2])
        buf = io.BytesIO()
        Image.new("RGB", (160, 120), (90, 120, 150)).save(buf, format="PNG")
        r = c.post("/v1/search", files={"image": ("g.png", buf.getvalue())}, data={"purpose": PURPOSE})
        assert r.status_code == 422 and r.json()["code"] == "no_face", r.text


def test_uploads_decoded_in_a_worker_fail_as_they_do_in_one_process(server):
    """Verify and search send the uploaded bytes to a worker, which decodes them: a corrupt
    photo, a photo without a face and a decompression bomb come back as the same 4xx problems
    (naming the photo) as in one process, and the service goes on answering."""
    import io

    import httpx
    from PIL import Image

    base, key = server.base, server.keys["operator"]
    good = data_path(*EXAMPLES, "obama.jpg").read_bytes()
    blank = io.BytesIO()
    Image.new("RGB", (160, 120), (90, 120, 150)).save(blank, format="PNG")
    bomb = io.BytesIO()
    Image.new("L", (20_000, 20_000)).save(bomb, format="PNG")  # 400 MP of zeros: a few hundred kB
    with httpx.Client(base_url=base, headers=_auth(key), timeout=120) as c:
        def verify(b: bytes):  # noqa: ANN202
            return c.post("/v1/verify", files={"image_a": ("a.jpg", good), "image_b": ("b.jpg", b)})

        r = verify(b"\xff\xd8\xff not a jpeg at all")
        assert r.status_code == 422 and r.json()["code"] in ("image_decode_error", "unsupported_image_format"), r.text
        r = verify(blank.getvalue())
        assert r.status_code == 422 and r.json()["code"] == "no_face", r.text
        assert r.json()["detail"].startswith("image_b:"), r.text
        r = verify(bomb.getvalue())
        assert r.status_code in (413, 422) and r.json()["code"] == "image_too_large", r.text
        r = verify(good)
        assert r.status_code == 200 and r.json()["match"] is True, r.text
        r = c.post("/v1/search", files={"image": ("q.jpg", good)}, data={"purpose": PURPOSE})
        assert r.status_code == 200, r.text
        assert r.json()["faces"][0]["face"]["crop"].startswith("data:image/jpeg")


def test_a_killed_worker_costs_requests_in_flight_not_the_service(server):
    """SIGKILL one inference worker (what the OOM killer does): the service answers 503
    `inference_unavailable` at most for what was in flight, starts fresh workers, and
    verifies again; nothing it holds (keys, gallery) is lost."""
    import signal

    import httpx

    base, proc, key = server.base, server.proc, server.keys["operator"]
    a = data_path(*EXAMPLES, "obama.jpg").read_bytes()
    before = _spawned_workers(proc.pid)
    assert len(before) == 2
    os.kill(before[0], signal.SIGKILL)
    codes = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        r = httpx.post(base + "/v1/verify", headers=_auth(key), timeout=120,
                       files={"image_a": ("a.jpg", a), "image_b": ("b.jpg", a)})
        codes.append(r.status_code)
        if r.status_code == 200:
            assert r.json()["match"] is True
            break
        assert r.status_code == 503 and r.json()["code"] == "inference_unavailable", r.text
    assert codes[-1] == 200 and codes.count(503) <= 1, codes
    assert proc.poll() is None
    after = _spawned_workers(proc.pid)
    assert after and before[0] not in after  # a fresh pool
    if server.ids:  # the gallery is intact: the third person of the first test still matches
        kit = _search(base, key, _photo(*PEOPLE["Kit Harington"][1]))
        assert _matched(kit) == {server.ids["Kit Harington"]}
