"""Exactly-once drills: a workload of gate passages with retries and duplicates injected,
run by concurrent gates (or by a process that gets killed), and the check that every
passage was charged once and the ledger balances.

Why in the app and not only in the tests: an operator can run the same drill against
a staging database before opening gates (`bench/facepay.py` runs it at full scale;
the tests at a small one). A plan is plain JSON, so a worker process can replay it:
`python -m clearsight.apps.facepay.drill PLAN.json` processes the plan in order with
the settings of the environment, and a restart after SIGKILL replays every key from
the start, which is what a gate does after a crash.

Each request carries its gate decision (made once per frame by `GateDecider`) and a
logical time, so a run's result does not depend on how fast the machine is: a
rider's journey k enters at `t0 + k h` and leaves 10 minutes later; a duplicate is a
second frame at another gate of the same station 5 s later (a new key); a retry
resends a request's key and frame. Duplicates and retries are sent concurrently with
their original; a rider's next step waits until the previous one was answered.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .records import GateDecision, Passage

if TYPE_CHECKING:
    from .service import FacePay


@dataclass(frozen=True, slots=True)
class DrillRequest:
    seq: int
    rider: str  # the identity the frame shows
    step: int  # the rider's step: 2k tap-in of journey k, 2k+1 its tap-out
    gate_id: str
    key: str
    frame: str
    at: str  # ISO time
    role: str  # "first" | "duplicate" | "retry"
    decision: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DrillReport:
    requests: int
    passages: int
    retries_replayed: int
    duplicates: int
    journeys: int
    charges_expected: int
    charges: int
    double_charges: int
    lost_charges: int
    errors: int
    balanced: bool
    balances_match: bool

    @property
    def ok(self) -> bool:
        return (not self.double_charges and not self.lost_charges and not self.errors and self.balanced
                and self.balances_match and self.charges == self.charges_expected)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def station_gates(stations: Sequence[str], per_direction: int = 2) -> list[tuple[str, str, str]]:
    """`per_direction` gates in and as many out at each station: (gate id, station, direction)."""
    return [(f"{s}-{d}{i}", s, d) for s in stations for d in ("in", "out") for i in range(1, per_direction + 1)]


def build_plan(decisions: Mapping[str, GateDecision], stations: Sequence[str], *, passages: int,
               per_direction: int = 2, retry_rate: float = 0.1, duplicate_rate: float = 0.1, seed: int = 0,
               t0: datetime | None = None) -> list[DrillRequest]:
    """About `passages` first requests (tap-ins and tap-outs over every rider in turn), plus
    the injected duplicates and retries."""
    rng = random.Random(seed)
    t0 = t0 or datetime(2030, 1, 1, tzinfo=timezone.utc)
    riders = sorted(decisions)
    if len(stations) < 2 or not riders:
        raise ValueError("a drill needs at least two stations and one rider")
    out: list[DrillRequest] = []
    steps: dict[str, int] = defaultdict(int)
    n = 0
    while n < passages:
        for r in riders:
            if n >= passages:
                break
            step = steps[r]
            steps[r] += 1
            journey, leaving = divmod(step, 2)
            rr = random.Random(f"{seed}:{r}:{journey}")
            a, b = rr.sample(list(stations), 2)
            station, direction = (b, "out") if leaving else (a, "in")
            at = t0 + timedelta(hours=journey, minutes=10 * leaving)
            key = f"drill-{seed}-{len(out):07d}"
            d = decisions[r].to_dict()
            gate = rng.randrange(per_direction)
            first = DrillRequest(len(out), r, step, f"{station}-{direction}{gate + 1}", key, f"frame-{key}",
                                 at.isoformat(), "first", d)
            out.append(first)
            n += 1
            if rng.random() < retry_rate:
                out.append(DrillRequest(len(out), r, step, first.gate_id, key, first.frame, first.at, "retry", d))
            if rng.random() < duplicate_rate:  # the same rider at the station's next gate, 5 s later, a new key
                dkey = f"drill-{seed}-{len(out):07d}"
                other = f"{station}-{direction}{(gate + 1) % per_direction + 1}"
                out.append(DrillRequest(len(out), r, step, other, dkey, f"frame-{dkey}",
                                        (at + timedelta(seconds=5)).isoformat(), "duplicate", d))
    return out


def run(fp: FacePay, plan: Sequence[DrillRequest], *, threads: int = 8, rate_per_s: float | None = None,
        stop_at: float | None = None) -> tuple[dict[int, Passage | Exception], list[float]]:
    """Send the plan with `threads` concurrent gates; `rate_per_s` paces the first requests
    (None: as fast as possible). Returns each request's answer (or error) and latencies (s)."""
    groups: dict[tuple[str, int], list[DrillRequest]] = defaultdict(list)
    for q in plan:
        groups[(q.rider, q.step)].append(q)
    per_rider: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for rider, step in sorted(groups, key=lambda k: (k[1], k[0])):
        per_rider[rider].append((rider, step))
    ready: list[tuple[str, int]] = []  # groups whose rider's previous step is done, in plan order
    order = sorted(groups, key=lambda k: min(q.seq for q in groups[k]))
    position = {g: i for i, g in enumerate(order)}
    next_step = {r: 0 for r in per_rider}
    results: dict[int, Passage | Exception] = {}
    latencies: list[float] = []
    lock = threading.Condition()
    pending = {g: len(v) for g, v in groups.items()}
    queue: list[DrillRequest] = []
    released = 0
    start = time.monotonic()

    def release(rider: str) -> None:
        i = next_step[rider]
        if i < len(per_rider[rider]):
            g = per_rider[rider][i]
            ready.append(g)
            ready.sort(key=position.__getitem__)

    for r in per_rider:
        release(r)

    def take() -> DrillRequest | None:
        nonlocal released
        with lock:
            while True:
                if stop_at is not None and time.monotonic() >= stop_at:
                    return None
                if queue:
                    return queue.pop(0)
                if ready:
                    if rate_per_s is not None:
                        due = start + released / rate_per_s
                        wait = due - time.monotonic()
                        if wait > 0:
                            lock.wait(min(wait, 0.5))
                            continue
                    g = ready.pop(0)
                    released += 1
                    queue.extend(groups[g])
                    continue
                if all(v == 0 for v in pending.values()):
                    return None
                lock.wait(0.5)

    def gate() -> None:
        while True:
            q = take()
            if q is None:
                return
            t = time.perf_counter()
            try:
                res: Passage | Exception = fp.record_passage(q.gate_id, GateDecision.from_dict(q.decision), q.key,
                                                             q.frame, now=datetime.fromisoformat(q.at))
            except Exception as exc:  # noqa: BLE001 - a drill reports every failure
                res = exc
            dt = time.perf_counter() - t
            with lock:
                results[q.seq] = res
                latencies.append(dt)
                g = (q.rider, q.step)
                pending[g] -= 1
                if pending[g] == 0:
                    next_step[q.rider] += 1
                    release(q.rider)
                lock.notify_all()

    workers = [threading.Thread(target=gate, name=f"drill-gate-{i}") for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results, latencies


def check(fp: FacePay, plan: Sequence[DrillRequest], results: Mapping[int, Passage | Exception] | None = None,
          *, top_ups: Mapping[str, int] | None = None) -> DrillReport:
    """Exactly once, from the store: every tap-out group charged once, nothing else charged,
    the ledger balanced, and (with `top_ups`) each rider's balance = top-ups - fares."""
    results = results or {}
    errors = sum(1 for r in results.values() if isinstance(r, Exception))
    riders = {q.rider: fp.rider_of_identity(q.rider).id for q in plan}
    outs = {(q.rider, q.step) for q in plan if q.step % 2 == 1}
    ins = {(q.rider, q.step) for q in plan if q.step % 2 == 0}
    fares = fp.ledger(kind="fare", limit=1000)
    offset = 1000
    while len(fares) == offset:
        fares += fp.ledger(kind="fare", offset=offset, limit=1000)
        offset += 1000
    per_journey: dict[str, int] = defaultdict(int)
    for t in fares:
        per_journey[t.journey_id or ""] += 1
    journeys = [j for rid in set(riders.values()) for j in fp.journeys(rider_id=rid, limit=1000)]
    double = sum(1 for v in per_journey.values() if v > 1)
    charged = sum(1 for j in journeys if j.status == "completed" and j.txn_id is not None)
    expected = len(outs)
    lost = max(0, expected - charged)
    stored = {p.idempotency_key for rid in set(riders.values())
              for p in fp.passages(rider_id=rid, limit=1000)}
    keys = {q.key for q in plan}
    replayed = sum(1 for r in results.values() if isinstance(r, Passage) and r.replayed)
    dups = sum(1 for r in results.values() if isinstance(r, Passage) and r.outcome == "duplicate")
    balances_match = True
    if top_ups is not None:
        spent: dict[str, int] = defaultdict(int)
        for t in fares:
            spent[t.rider_id or ""] += -t.amount_for(f"rider:{t.rider_id}")
        balances_match = all(fp.rider(rid).balance == top_ups.get(ident, 0) - spent[rid]
                             for ident, rid in riders.items())
    return DrillReport(len(plan), len(stored & keys), replayed, dups, len(ins), expected, charged, double, lost,
                       errors, fp.reconciliation(datetime.fromisoformat(plan[0].at)).balanced, balances_match)


def save_plan(plan: Sequence[DrillRequest], path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump([asdict(q) for q in plan], f)


def load_plan(path: str) -> list[DrillRequest]:
    with open(path, encoding="utf-8") as f:
        return [DrillRequest(**q) for q in json.load(f)]


def main(argv: Sequence[str]) -> int:
    """Worker: replay the plan in order (one gate), with this environment's settings.

    `--hold-ms N` holds every transaction open N ms before its commit, so that a kill
    during the drill lands inside a half-done charge most of the time."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from .service import FacePay

    args = list(argv)
    hold = 0.0
    if "--hold-ms" in args:
        i = args.index("--hold-ms")
        hold = float(args[i + 1]) / 1000
        del args[i:i + 2]
    if hold:
        event.listen(Session, "before_commit", lambda _s: time.sleep(hold))
    plan = load_plan(args[0])
    fp = FacePay.open()
    try:
        for q in plan:
            fp.record_passage(q.gate_id, GateDecision.from_dict(q.decision), q.key, q.frame,
                              now=datetime.fromisoformat(q.at))
            print(q.seq, flush=True)
    finally:
        fp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
