"""Face-pay through REST on real faces (LFW-gray): enrol a rider from photos, gate decisions
with the real pipeline, and bad input that gets a clear error and moves no money: an
unknown gate, a malformed image, a replayed idempotency key with another frame, an
insufficient balance. LFW photos are grey press photos, not live captures: with passive
liveness on (the default) a gate refuses them, which is checked first; the recognition
part runs with `facepay.require_liveness` off."""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest
from fastapi.testclient import TestClient

from tests.conftest import data_path

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lfw():
    root = data_path("faces", "lfw_gray")
    by_id = defaultdict(list)
    with open(root / "images.csv") as fh:
        for r in csv.DictReader(fh):
            if r["in_identification_subset"] == "1":
                by_id[r["identity"]].append(root / r["path"])
    return {k: sorted(v) for k, v in by_id.items()}


def _client(tmp_path, monkeypatch, **facepay):  # noqa: ANN001, ANN003, ANN202
    from clearsight.config import get_settings
    from clearsight.server import create_app
    from clearsight.settings import ServerSettings

    for k, v in facepay.items():
        monkeypatch.setenv(f"CLEARSIGHT_FACEPAY__{k.upper()}", str(v))
    get_settings.cache_clear()
    app = create_app(get_settings(), ServerSettings(warmup=False))
    client = TestClient(app, raise_server_exceptions=False)
    client.__enter__()
    _, key = app.state.clearsight.keys.create("operator")
    return client, {"Authorization": f"Bearer {key}"}


def _money(c, h):  # noqa: ANN001, ANN202
    return {a["id"]: a["balance"] for a in c.get("/v1/facepay/accounts", headers=h).json()["items"]}


def _pass(c, h, gate, path, key):  # noqa: ANN001, ANN202
    return c.post("/v1/facepay/passages", data={"gate_id": gate}, files={"image": ("f.jpg", path.read_bytes())},
                  headers={**h, "Idempotency-Key": key})


def test_gates_on_real_faces_and_bad_input_moves_no_money(tmp_path, monkeypatch, lfw):
    people = sorted(p for p, v in lfw.items() if len(v) >= 6)
    ann, stranger = people[0], people[1]
    c, h = _client(tmp_path, monkeypatch)
    try:
        for gate in ({"id": "A-in", "station": "A", "direction": "in"},
                     {"id": "B-out", "station": "B", "direction": "out"}):
            assert c.post("/v1/facepay/gates", json=gate, headers=h).status_code == 201
        photos = lfw[ann][:3]
        r = c.post("/v1/facepay/riders", data={"display_name": "Ann", "top_up": "100"},
                   files={f"photo{'' if i == 0 else i + 1}": (p.name, p.read_bytes()) for i, p in enumerate(photos)},
                   headers=h)
        assert r.status_code == 201, r.text
        rider = r.json()["rider"]
        assert rider["balance"] == 100 and r.json()["rider_key"].startswith("fpr_")
        before = _money(c, h)
        # liveness on (the default): a grey photo is not a live person at the gate
        p = _pass(c, h, "A-in", photos[0], "live-check-1").json()
        assert (p["outcome"], p["reason"], p["opens_gate"]) == ("refused", "not_live", False)
        assert "ticket" in p["message"]
        # bad input: clear errors, nothing stored, no money
        r = _pass(c, h, "Z-9", photos[0], "unknown-gate-1")
        assert r.status_code == 404 and r.json()["code"] == "not_found" and "Z-9" in r.json()["detail"]
        r = c.post("/v1/facepay/passages", data={"gate_id": "A-in"}, files={"image": ("f.jpg", b"\xff\xd8garbage")},
                   headers={**h, "Idempotency-Key": "malformed-1"})
        assert r.status_code == 422 and r.json()["code"] == "image_decode_error"
        r = _pass(c, h, "A-in", photos[1], "live-check-1")  # the same key, another frame
        assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
        r = c.post("/v1/facepay/passages", data={"gate_id": "A-in"}, files={"image": ("f.jpg", photos[0].read_bytes())},
                   headers=h)
        assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
        assert _money(c, h) == before
        assert [x["idempotency_key"] for x in c.get("/v1/facepay/passages", headers=h).json()["items"]] == \
            ["live-check-1"]
    finally:
        c.__exit__(None, None, None)

    c, h = _client(tmp_path, monkeypatch, require_liveness="false")  # same data dir: recognition alone
    try:
        before = _money(c, h)
        p = _pass(c, h, "A-in", photos[0], "poor-rider-1").json()
        assert (p["outcome"], p["reason"], p["rider_id"]) == ("refused", "insufficient_balance", rider["id"])
        assert _money(c, h) == before
        r = c.post(f"/v1/facepay/accounts/{rider['id']}/top-ups", json={"amount": 1900},
                   headers={**h, "Idempotency-Key": "topup-ann-1"})
        assert r.status_code == 201 and r.json()["balance"] == 2000
        assert c.post(f"/v1/facepay/accounts/{rider['id']}/top-ups", json={"amount": 1900},
                      headers={**h, "Idempotency-Key": "topup-ann-1"}).json()["replayed"] is True
        p = _pass(c, h, "A-in", photos[0], "ann-in-0001").json()
        assert (p["outcome"], p["rider_id"]) == ("entered", rider["id"]) and p["similarity"] > 0.9
        replay = _pass(c, h, "A-in", photos[0], "ann-in-0001")
        assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json()["id"] == p["id"]
        # another photo of her at the exit: charged, or unsure (no match); never someone else
        out = _pass(c, h, "B-out", lfw[ann][4], "ann-out-001").json()
        assert out["outcome"] in ("charged", "refused") and out["rider_id"] in (rider["id"], None)
        if out["outcome"] == "charged":
            assert out["fare"] == 250
        for i, photo in enumerate(lfw[stranger][:3]):  # nobody enrolled: never charged
            s = _pass(c, h, "B-out", photo, f"stranger-{i:04d}").json()
            assert (s["outcome"], s["rider_id"]) == ("refused", None) and s["reason"] in ("no_match", "low_quality",
                                                                                       "no_face")
        rep = c.get("/v1/facepay/reports/daily", headers=h).json()
        assert rep["balanced"] and rep["totals"]["fare"] == (-250 if out["outcome"] == "charged" else 0)
        me = c.get("/v1/facepay/me", headers={"X-Rider-Key": r_key(c, h, rider["id"])}).json()
        assert me["rider"]["id"] == rider["id"] and "similarity" not in me["passages"][0]
    finally:
        c.__exit__(None, None, None)


def r_key(c, h, rider_id):  # noqa: ANN001, ANN201
    return c.post(f"/v1/facepay/riders/{rider_id}/key", headers=h).json()["rider_key"]
