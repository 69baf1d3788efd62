"""`clearsight facepay ...`: riders, top-ups, gates, passages, journeys, the ledger, refunds,
disputes, the daily report and housekeeping, on the same store as the service.

Amounts are integer minor units (250 = 2.50 of `facepay.currency`). Exit codes as
everywhere: 2 bad input (unknown gate, malformed image, reused idempotency key),
4 not found, 5 consent required; a passage the gate refuses exits 1.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .common import JsonOpt, default_actor, echo_json, echo_table, quiet_runtimes

if TYPE_CHECKING:
    from ..apps.facepay import FacePay

ActorOpt = Annotated[str, typer.Option(help="who is doing this (recorded in the audit log)")]


def _open() -> FacePay:
    from ..apps.facepay import FacePay

    quiet_runtimes()
    return FacePay.open()


def enrol(
    photos: Annotated[list[Path], typer.Argument(help="1-3 photos of the rider")],
    name: Annotated[str, typer.Option(help="the rider's display name")],
    external_id: Annotated[Optional[str], typer.Option(help="your id for the rider")] = None,
    top_up: Annotated[int, typer.Option(help="initial top-up, minor units")] = 0,
    actor: ActorOpt = default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Enrol a rider: identity, facepay consent, faces and account; prints the rider's key once."""
    data = [_read(p) for p in photos]
    fp = _open()
    try:
        e = fp.enrol_rider(name, data, actor=actor, external_id=external_id)
        if top_up:
            fp.top_up(e.rider.id, top_up, actor=actor, memo="at enrolment")
        rider = fp.rider(e.rider.id)
    finally:
        fp.close()
    out = {"rider": rider.to_dict(), "rider_key": e.rider_key, "refused_photos": list(e.refused_photos)}
    if as_json:
        echo_json(out)
        return
    typer.echo(f"rider {rider.id}: balance {rider.balance} {rider.currency}")
    for r in e.refused_photos:
        typer.echo(f"  refused photo: {r}")
    typer.echo(f"rider key (shown once, for the rider's own page):\n  {e.rider_key}")


def riders(as_json: JsonOpt = False) -> None:
    """List riders with their balances."""
    fp = _open()
    try:
        items = [r.to_dict() for r in fp.riders(0, 1000)]
    finally:
        fp.close()
    if as_json:
        echo_json(items)
    elif items:
        echo_table(["rider", "status", "balance", "currency"],
                   [[r["id"], r["status"], str(r["balance"]), r["currency"]] for r in items])


def top_up(
    rider: Annotated[str, typer.Argument(help="rider id")],
    amount: Annotated[int, typer.Argument(help="minor units (1000 = 10.00)")],
    idempotency_key: Annotated[Optional[str], typer.Option(help="retrying with the same key tops up once")] = None,
    actor: ActorOpt = default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Add stored value to a rider's account."""
    _with(lambda fp: fp.top_up(rider, amount, actor=actor, idempotency_key=idempotency_key).to_dict(), as_json,
          lambda fp, _t: f"balance {fp.rider(rider).balance} {fp.currency}")


def balance(rider: Annotated[str, typer.Argument(help="rider id")], as_json: JsonOpt = False) -> None:
    """A rider's balance, journeys and transactions."""
    _with(lambda fp: fp.history(rider), as_json,
          lambda fp, h: f"balance {h['rider']['balance']} {fp.currency}, {len(h['journeys'])} journeys, "
                        f"{len(h['transactions'])} transactions")


def erase(rider: Annotated[str, typer.Argument(help="rider id")], actor: ActorOpt = default_actor(),
          as_json: JsonOpt = False) -> None:
    """Erase a rider: face and identity go, the balance is refunded, the account closes."""
    _with(lambda fp: fp.erase_rider(rider, actor=actor).to_dict(), as_json,
          lambda fp, r: f"erased; refunded {r['refunded']} {r['currency']}")


def gate_add(
    gate: Annotated[str, typer.Argument(help="gate id")],
    station: Annotated[str, typer.Option(help="station name")],
    direction: Annotated[str, typer.Option(help="in | out")],
    actor: ActorOpt = default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Register a gate at a station."""
    _with(lambda fp: fp.add_gate(gate, station, direction, actor=actor).to_dict(), as_json,
          lambda fp, g: f"gate {g['id']} at {g['station']} ({g['direction']})")


def gates(as_json: JsonOpt = False) -> None:
    """List gates."""
    _with(lambda fp: [g.to_dict() for g in fp.gates()], as_json,
          lambda fp, gs: "\n".join(f"{g['id']}  {g['station']}  {g['direction']}" for g in gs))


def passage(
    gate: Annotated[str, typer.Argument(help="gate id")],
    image: Annotated[Path, typer.Argument(help="the gate's frame")],
    idempotency_key: Annotated[Optional[str], typer.Option(help="default: a new UUID (no retry protection)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide one gate frame, as a gate would: open and start or end a journey, or refuse."""
    data = _read(image)
    fp = _open()
    try:
        p = fp.passage(gate, data, idempotency_key or str(uuid.uuid4()))
    finally:
        fp.close()
    if as_json:
        echo_json(p.to_dict())
    else:
        fare = f", fare {p.fare} {p.currency}" if p.fare else ""
        typer.echo(f"{p.outcome}{' (' + p.reason + ')' if p.reason else ''}{fare}; passage {p.id}")
    if not p.opens_gate:
        raise typer.Exit(1)


def journeys(rider: Annotated[Optional[str], typer.Option(help="only this rider's")] = None,
             as_json: JsonOpt = False) -> None:
    """List journeys, newest first."""
    _with(lambda fp: [j.to_dict() for j in fp.journeys(rider_id=rider)], as_json,
          lambda fp, js: "\n".join(f"{j['entry_at']}  {j['entry_station']} -> {j['exit_station'] or '?'}  "
                                   f"{j['status']}  {j['fare'] if j['fare'] is not None else '-'}" for j in js))


def ledger(rider: Annotated[Optional[str], typer.Option(help="only this rider's")] = None,
           limit: Annotated[int, typer.Option(help="most transactions")] = 50, as_json: JsonOpt = False) -> None:
    """Ledger transactions with their entries, newest first."""
    _with(lambda fp: [t.to_dict() for t in fp.ledger(rider_id=rider, limit=limit)], as_json,
          lambda fp, ts: "\n".join(f"#{t['id']} {t['at']} {t['kind']:7} " + ", ".join(
              f"{e['account_id']} {e['amount']:+d}" for e in t["entries"]) for t in ts))


def refund(
    txn: Annotated[int, typer.Argument(help="the fare transaction id")],
    amount: Annotated[Optional[int], typer.Option(help="minor units; default: what is left of the fare")] = None,
    reason: Annotated[str, typer.Option(help="why")] = "",
    actor: ActorOpt = default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Refund (part of) a fare."""
    _with(lambda fp: fp.refund(txn, actor=actor, amount=amount, reason=reason).to_dict(), as_json,
          lambda fp, t: f"refund #{t['id']}")


def disputes(status: Annotated[Optional[str], typer.Option(help="open | refunded | rejected")] = None,
             as_json: JsonOpt = False) -> None:
    """List disputes."""
    _with(lambda fp: [d.to_dict() for d in fp.disputes(status=status)], as_json,
          lambda fp, ds: "\n".join(f"{d['id']}  {d['status']}  passage {d['passage_id']}  {d['reason']}"
                                   for d in ds))


def resolve(
    dispute: Annotated[str, typer.Argument(help="dispute id")],
    refund_fare: Annotated[bool, typer.Option("--refund/--reject", help="uphold and refund, or reject")],
    note: Annotated[str, typer.Option(help="a note for the record")] = "",
    actor: ActorOpt = default_actor(),
    as_json: JsonOpt = False,
) -> None:
    """Resolve a dispute."""
    _with(lambda fp: fp.resolve_dispute(dispute, refund=refund_fare, actor=actor, note=note).to_dict(), as_json,
          lambda fp, d: f"dispute {d['id']}: {d['status']}")


def report(day: Annotated[Optional[datetime], typer.Option(help="a date (UTC); default today")] = None,
           as_json: JsonOpt = False) -> None:
    """The daily reconciliation report; exits 1 when the ledger does not balance."""
    fp = _open()
    try:
        r = fp.reconciliation(day)
    finally:
        fp.close()
    d = r.to_dict()
    if as_json:
        echo_json(d)
    else:
        for k, v in d.items():
            typer.echo(f"{k:28} {v}")
    if not r.balanced:
        raise typer.Exit(1)


def housekeeping(actor: ActorOpt = "system:facepay", as_json: JsonOpt = False) -> None:
    """Close overdue journeys at the capped fare; delete snapshots past the dispute window."""
    _with(lambda fp: fp.housekeeping(actor=actor).to_dict(), as_json,
          lambda fp, h: f"{h['journeys_capped']} journeys capped, {h['snapshots_deleted']} snapshots deleted")


def _read(path: Path) -> bytes:
    from ..errors import InputError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def _with(action: Callable[[FacePay], Any], as_json: bool, human: Callable[[FacePay, Any], str]) -> None:
    fp = _open()
    try:
        out = action(fp)
        if as_json:
            echo_json(out)
        else:
            text = human(fp, out)
            if text:
                typer.echo(text)
    finally:
        fp.close()


FACEPAY_COMMANDS = (
    ("enrol", enrol), ("riders", riders), ("top-up", top_up), ("balance", balance), ("erase", erase),
    ("gate-add", gate_add), ("gates", gates), ("passage", passage), ("journeys", journeys), ("ledger", ledger),
    ("refund", refund), ("disputes", disputes), ("resolve", resolve), ("report", report),
    ("housekeeping", housekeeping),
)
