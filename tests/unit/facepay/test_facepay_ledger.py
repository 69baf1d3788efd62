"""Face-pay on SQLite and PostgreSQL: journeys and fares, one charge per passage whatever
retries, duplicate frames and second gates do, refusals that move no money, refunds,
disputes with evidence, erasure, and a ledger that balances after all of it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from clearsight.apps.facepay import IdempotencyKeyReusedError, InsufficientBalanceError, Unsure, journey_fare
from clearsight.db.base import utcnow
from clearsight.errors import InputError
from clearsight.gallery.errors import NotFoundError
from clearsight.settings import FareTable

from .helpers import decide, make_settings, open_facepay, rider

pytestmark = pytest.mark.unit

T0 = utcnow().replace(microsecond=0)


def money(fp) -> dict[str, int]:  # noqa: ANN001
    return {a["id"]: a["balance"] for a in fp.accounts()}


def test_fare_table_is_data_flat_zones_and_capped():
    flat = FareTable()
    assert journey_fare(flat, "A", "B") == 250 and journey_fare(flat, "A", None) == 500
    zones = FareTable(kind="zones", base_fare=200, per_zone=150, capped_fare=600,
                      station_zones={"A": 1, "B": 2, "C": 4, "D": 9})
    assert journey_fare(zones, "A", "A") == 200 and journey_fare(zones, "B", "A") == 350
    assert journey_fare(zones, "A", "C") == 600 and journey_fare(zones, "A", "D") == 600  # capped
    assert journey_fare(zones, "A", "Nowhere") == 600  # an unknown station is charged the cap, never guessed
    with pytest.raises(ValueError):
        FareTable(flat_fare=900, capped_fare=500)


def test_a_journey_is_one_tap_in_one_tap_out_and_one_charge(fp):
    r = rider(fp, 1, top_up=1000).rider
    d = decide(fp, 1)
    assert d.recognised and d.similarity > d.threshold and d.fpir == pytest.approx(1e-4)
    p_in = fp.record_passage("A-in-1", d, "key-in-0001", "frame-1", now=T0)
    assert (p_in.outcome, p_in.opens_gate, p_in.fare) == ("entered", True, None)
    # another frame at another gate of the same station 30 s later: the same passage
    dup = fp.record_passage("A-in-2", d, "key-in-0002", "frame-2", now=T0 + timedelta(seconds=30))
    assert (dup.outcome, dup.same_as, dup.opens_gate) == ("duplicate", p_in.id, True)
    assert fp.rider(r.id).balance == 1000  # nothing charged at the tap-in
    out = fp.record_passage("B-out", d, "key-out-0001", "frame-3", now=T0 + timedelta(minutes=25))
    assert (out.outcome, out.fare, out.journey_id) == ("charged", 250, p_in.journey_id)
    again = fp.record_passage("B-out", d, "key-out-0001", "frame-3", now=T0 + timedelta(minutes=26))  # a retry
    assert again.replayed and again.id == out.id and again.txn_id == out.txn_id
    dup_out = fp.record_passage("B-out", d, "key-out-0002", "frame-4", now=T0 + timedelta(minutes=25, seconds=20))
    assert dup_out.outcome == "duplicate"
    assert fp.rider(r.id).balance == 750
    [j] = fp.journeys(rider_id=r.id)
    assert (j.status, j.entry_station, j.exit_station, j.fare) == ("completed", "A", "B", 250)
    # outside the window the same station is a new passage (a new journey)
    later = fp.record_passage("A-in-1", d, "key-in-0003", "frame-5", now=T0 + timedelta(minutes=27))
    assert later.outcome == "entered"
    rec = fp.reconciliation(T0)
    assert rec.balanced and rec.totals["fare"] == -250 and rec.rider_liability == 750


def test_a_replayed_key_with_another_body_is_refused_and_moves_no_money(fp):
    rider(fp, 2, top_up=1000)
    d = decide(fp, 2)
    fp.record_passage("A-in-1", d, "same-key-01", "frame-a", now=T0)
    out = fp.record_passage("B-out", d, "same-key-02", "frame-b", now=T0 + timedelta(minutes=10))
    before = money(fp)
    with pytest.raises(IdempotencyKeyReusedError, match="different passage"):
        fp.record_passage("B-out", d, "same-key-02", "frame-OTHER", now=T0 + timedelta(minutes=11))
    with pytest.raises(IdempotencyKeyReusedError):
        fp.record_passage("A-in-2", d, "same-key-02", "frame-b", now=T0 + timedelta(minutes=11))
    assert money(fp) == before and out.outcome == "charged"
    with pytest.raises(InputError, match="8-128"):
        fp.record_passage("B-out", d, "short", "x")


def test_top_up_is_idempotent_and_bounded(fp):
    r = rider(fp, 3).rider
    t1 = fp.top_up(r.id, 500, actor="op", idempotency_key="topup-abc-1")
    t2 = fp.top_up(r.id, 500, actor="op", idempotency_key="topup-abc-1")
    assert t2.replayed and t2.id == t1.id and fp.rider(r.id).balance == 500
    with pytest.raises(IdempotencyKeyReusedError):
        fp.top_up(r.id, 700, actor="op", idempotency_key="topup-abc-1")
    for bad in (0, -5, 2.5, "100", True, 10**9):
        with pytest.raises(InputError):
            fp.top_up(r.id, bad, actor="op")
    with pytest.raises(InputError, match="EUR"):
        fp.top_up(r.id, 100, actor="op", currency="USD")
    assert fp.rider(r.id).balance == 500


def test_unsure_or_not_allowed_opens_nothing_and_charges_no_one(fp):
    poor = rider(fp, 4, top_up=100).rider  # below the capped fare
    rich = rider(fp, 5, top_up=1000).rider
    before = money(fp)
    stranger = decide(fp, 999)  # nobody enrolled has this face
    assert stranger.unsure is Unsure.NO_MATCH and stranger.identity_id is None
    p = fp.record_passage("A-in-1", stranger, "stranger-01", "s", now=T0)
    assert (p.outcome, p.reason, p.opens_gate, p.rider_id) == ("refused", "no_match", False, None)
    p = fp.record_passage("A-in-1", decide(fp, 4), "poor-0001", "p", now=T0)
    assert (p.outcome, p.reason, p.rider_id) == ("refused", "insufficient_balance", poor.id)
    p = fp.record_passage("B-out", decide(fp, 5), "no-tapin-01", "n", now=T0)
    assert (p.outcome, p.reason) == ("refused", "no_tap_in")  # entered with a ticket: nothing to charge
    # the consent is withdrawn between the search and the charge: the ledger's own check refuses
    d = decide(fp, 5)
    [consent] = fp.gallery.list_consents(rich.identity_id)
    fp.gallery.withdraw_consent(consent.id, actor="rider")
    p = fp.record_passage("A-in-1", d, "withdrawn-1", "w", now=T0)
    assert (p.outcome, p.reason) == ("refused", "no_consent")
    assert decide(fp, 5).unsure is Unsure.NO_MATCH  # and the gallery no longer returns them at all
    assert money(fp) == before
    with pytest.raises(NotFoundError, match="no gate"):
        fp.record_passage("Z-9", d, "unknown-gate", "u", now=T0)
    assert fp.passages(gate_id="Z-9") == [] and money(fp) == before


def test_a_tap_in_without_tap_out_is_capped_after_the_timeout(settings):
    with open_facepay(settings.model_copy(update={"facepay": settings.facepay.model_copy(
            update={"tap_out_timeout_s": 3600})})) as fp:
        fp.add_gate("A-in", "A", "in", actor="t")
        r = rider(fp, 6, top_up=2000).rider
        d = decide(fp, 6)
        fp.record_passage("A-in", d, "open-0001", "f", now=T0)
        assert fp.housekeeping(T0 + timedelta(minutes=59)).journeys_capped == 0
        assert fp.housekeeping(T0 + timedelta(minutes=61)).journeys_capped == 1
        assert fp.housekeeping(T0 + timedelta(minutes=62)).journeys_capped == 0  # once
        [j] = fp.journeys(rider_id=r.id)
        assert (j.status, j.fare) == ("capped", 500) and fp.rider(r.id).balance == 1500
        # a new tap-in while a journey is still open ends that one at the cap first
        fp.record_passage("A-in", d, "open-0002", "g", now=T0 + timedelta(hours=2))
        p = fp.record_passage("A-in", d, "open-0003", "h", now=T0 + timedelta(hours=3))
        assert p.outcome == "entered" and fp.rider(r.id).balance == 1000
        assert [j.status for j in fp.journeys(rider_id=r.id)] == ["open", "capped", "capped"]
        assert fp.reconciliation(T0).balanced


def test_two_gates_and_retries_at_once_give_one_passage_and_one_charge(fp):
    r = rider(fp, 7, top_up=5000).rider
    d = decide(fp, 7)
    fp.record_passage("A-in-1", d, "conc-in-0", "in", now=T0)
    results, errors = [], []

    def gate(name: str, key: str, body: str) -> None:
        try:
            results.append(fp.record_passage(name, d, key, body, now=T0 + timedelta(minutes=20)))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    # the exit gate retries its key 3 times and a second exit gate of the station sees the same rider twice
    threads = [threading.Thread(target=gate, args=("B-out", "conc-out-1", "frame-1")) for _ in range(3)]
    threads += [threading.Thread(target=gate, args=("B-out", f"conc-out-{i}", f"frame-{i}")) for i in (2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    charged = [p for p in results if p.outcome == "charged"]
    assert len({p.id for p in charged}) == 1 and {p.outcome for p in results} <= {"charged", "duplicate"}
    assert fp.rider(r.id).balance == 4750
    assert len(fp.ledger(rider_id=r.id, kind="fare")) == 1 and fp.reconciliation(T0).balanced


def test_refunds_and_disputes_with_evidence_kept_for_the_window(fp):
    r = rider(fp, 8, top_up=1000).rider
    d = decide(fp, 8)
    fp.record_passage("A-in-1", d, "disp-in-01", "a", now=T0, snapshot=b"\xff\xd8tap-in frame")
    out = fp.record_passage("B-out", d, "disp-out-1", "b", now=T0 + timedelta(minutes=9), snapshot=b"\xff\xd8frame")
    assert out.has_snapshot and out.fare == 250
    refund = fp.refund(out.txn_id, actor="op", amount=100, reason="lift out of order")
    assert refund.amount_for(f"rider:{r.id}") == 100
    with pytest.raises(InsufficientBalanceError, match="150"):
        fp.refund(out.txn_id, actor="op", amount=200)
    dispute = fp.open_dispute(out.id, "I was not there", actor=f"rider:{r.id}", rider_id=r.id,
                              now=T0 + timedelta(days=1))
    assert dispute.has_evidence and fp.dispute_evidence(dispute.id, actor="op") == b"\xff\xd8frame"
    with pytest.raises(NotFoundError):  # someone else's passage
        fp.open_dispute(out.id, "not mine", actor="rider:x", rider_id="0" * 32)
    # past the window: snapshots go, except the one under an open dispute
    assert fp.housekeeping(T0 + timedelta(days=31)).snapshots_deleted == 1
    assert fp.dispute_evidence(dispute.id, actor="op")
    resolved = fp.resolve_dispute(dispute.id, refund=True, actor="op", note="upheld")
    assert resolved.status == "refunded" and fp.rider(r.id).balance == 1000  # 250 fare, 100 + 150 back
    assert fp.housekeeping(T0 + timedelta(days=31)).snapshots_deleted == 1
    with pytest.raises(NotFoundError):
        fp.dispute_evidence(dispute.id, actor="op")
    late = fp.record_passage("A-in-1", d, "disp-in-02", "c", now=T0 + timedelta(days=2))
    with pytest.raises(InputError, match="30 days"):
        fp.open_dispute(late.id, "too late", actor="op", now=T0 + timedelta(days=40))
    actions = {e.action for e in fp.gallery.audit_entries(limit=1000)}
    assert {"facepay.refund", "facepay.dispute.open", "facepay.dispute.resolve", "facepay.export",
            "facepay.passage"} <= actions
    assert fp.reconciliation(T0).balanced


def test_erasure_refunds_closes_and_keeps_only_pseudonymous_payment_records(fp):
    e = rider(fp, 9, top_up=1200)
    r = e.rider
    d = decide(fp, 9)
    fp.record_passage("A-in-1", d, "erase-in-1", "a", now=T0, snapshot=b"jpeg")
    fp.record_passage("B-out", d, "erase-out1", "b", now=T0 + timedelta(minutes=5), snapshot=b"jpeg")
    fp.record_passage("B-in", decide(fp, 12345), "erase-no-1", "c", now=T0)  # someone else, refused
    fp.record_passage("A-in-1", d, "erase-in-2", "d", now=T0 + timedelta(hours=1))  # left open
    assert fp.authenticate_rider(e.rider_key).id == r.id
    report = fp.erase_rider(r.id, actor="dpo")
    assert report.refunded == 1200 - 250 - 500 and report.journey_capped
    closed = fp.rider(r.id)
    assert (closed.status, closed.identity_id, closed.balance) == ("closed", None, 0)
    with pytest.raises(NotFoundError):
        fp.gallery.get_identity(r.identity_id)
    assert fp.authenticate_rider(e.rider_key) is None
    assert decide(fp, 9).unsure is Unsure.NO_MATCH
    kinds = sorted(t.kind for t in fp.ledger(rider_id=r.id))
    assert kinds == ["fare", "fare", "payout", "top_up"]  # the payment records stay
    assert all(not p.has_snapshot and p.similarity is None for p in fp.passages(rider_id=r.id))
    with pytest.raises(InputError):
        fp.top_up(r.id, 100, actor="op")
    rec = fp.reconciliation(T0)
    assert rec.balanced and rec.rider_liability == 0


def test_rider_keys_open_one_account_only(fp):
    a, b = rider(fp, 10), rider(fp, 11)
    assert fp.authenticate_rider(a.rider_key).id == a.rider.id
    forged = a.rider_key.replace(a.rider.id, b.rider.id)
    for bad in (forged, "", "fpr_", "fpr_x_y", a.rider_key + "x", "cs_abc_def"):
        assert fp.authenticate_rider(bad) is None
    new = fp.new_rider_key(a.rider.id, actor="op")
    assert fp.authenticate_rider(a.rider_key) is None and fp.authenticate_rider(new).id == a.rider.id


def test_a_second_store_on_the_same_database_sees_the_same_ledger(settings, tmp_path):
    with open_facepay(settings) as fp:
        fp.add_gate("G", "S", "in", actor="t")
        r = rider(fp, 13, top_up=900).rider
    with open_facepay(settings) as again:
        assert again.rider(r.id).balance == 900 and again.reconciliation().balanced
    assert make_settings(tmp_path).facepay.currency == "EUR"
