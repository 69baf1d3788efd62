"""The load and crash checks of issue 17 at a small scale (full scale: bench/facepay.py):
8 concurrent gates with retries and duplicates injected, and a worker SIGKILLed again and
again mid-charge then restarted: no passage charged twice, none lost, the ledger balances."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from clearsight.apps.facepay.drill import build_plan, check, run, save_plan, station_gates

from .helpers import decide, make_settings, open_facepay, rider

pytestmark = pytest.mark.unit

STATIONS = ("North", "South")
TOP_UP = 50_000


def _setup(fp, riders: int):  # noqa: ANN001, ANN202
    for gid, station, direction in station_gates(STATIONS):
        fp.add_gate(gid, station, direction, actor="drill")
    decisions = {}
    for seed in range(100, 100 + riders):
        e = rider(fp, seed, top_up=TOP_UP)
        decisions[e.rider.identity_id] = decide(fp, seed)
    return decisions


def test_eight_gates_with_retries_and_duplicates_charge_each_passage_once(tmp_path, store_url):
    settings = make_settings(tmp_path, store_url, tap_out_timeout_s=30 * 86400)
    with open_facepay(settings) as fp:
        decisions = _setup(fp, 6)
        plan = build_plan(decisions, STATIONS, passages=96, retry_rate=0.25, duplicate_rate=0.25, seed=1)
        assert {q.role for q in plan} == {"first", "retry", "duplicate"}
        results, _lat = run(fp, plan, threads=8)
        report = check(fp, plan, results, top_ups={i: TOP_UP for i in decisions})
        assert report.errors == 0, [r for r in results.values() if isinstance(r, Exception)][:3]
        assert report.ok, report
        assert report.charges == report.charges_expected == 48 and report.retries_replayed > 0
        assert report.duplicates > 0 and report.double_charges == 0 and report.lost_charges == 0


def test_sigkill_mid_charge_then_restart_neither_doubles_nor_loses_a_charge(tmp_path, store_url):
    settings = make_settings(tmp_path, store_url, tap_out_timeout_s=30 * 86400)
    with open_facepay(settings) as fp:
        decisions = _setup(fp, 3)
    plan = build_plan(decisions, STATIONS, passages=30, retry_rate=0.2, duplicate_rate=0.2, seed=2)
    path = tmp_path / "plan.json"
    save_plan(plan, str(path))
    env = {**os.environ, "CLEARSIGHT_DATA_DIR": str(settings.data_dir),
           "CLEARSIGHT_SECRETS_DIR": str(settings.secrets_dir), "CLEARSIGHT_FACEPAY__TAP_OUT_TIMEOUT_S": "2592000",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    if store_url:
        env["CLEARSIGHT_GALLERY__DATABASE_URL"] = store_url
    cmd = [sys.executable, "-m", "clearsight.apps.facepay.drill", str(path), "--hold-ms", "40"]
    kills = 0
    for _ in range(3):  # killed while it holds a charge open, restarted, killed again ...
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        done = 0
        deadline = time.monotonic() + 120
        while done < 6 + 6 * kills and time.monotonic() < deadline:  # let it get a little further each time
            line = proc.stdout.readline()
            if not line:
                break
            done += 1
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(30)
    assert kills >= 2
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)  # the restart: replays all
    assert final.returncode == 0, final.stderr[-2000:]
    with open_facepay(settings) as fp:
        report = check(fp, plan, top_ups={i: TOP_UP for i in decisions})
        assert report.passages == len({q.key for q in plan})
        assert report.ok, report
