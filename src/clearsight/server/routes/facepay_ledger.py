"""The face-pay ledger, refunds, disputes and reports (`/v1/facepay/...`).

The ledger is double-entry (every transaction's entries sum to zero); the daily
report (`/reports/daily`) gives the day's movements and checks the invariants of the
whole ledger (`balanced`). A dispute's evidence is the gate frame, kept encrypted
only for the dispute window; downloading it is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..state import ServiceState
from ..schemas import MAX_MINOR_UNITS, PageOffset, RowId

router = APIRouter(prefix="/v1/facepay", tags=["facepay"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    txn_id: RowId = Field(description="the fare transaction to refund")
    amount: int | None = Field(None, ge=1, le=MAX_MINOR_UNITS, description="minor units; default: what is left of the fare")
    reason: str = Field("", max_length=255)


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    passage_id: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=3, max_length=500)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refund: bool = Field(description="true: uphold and refund the fare; false: reject")
    amount: int | None = Field(None, ge=1, le=MAX_MINOR_UNITS, description="partial refund, minor units")
    note: str = Field("", max_length=255)


@router.get("/ledger")
def ledger(
    account: str | None = Query(None, max_length=40, description="only transactions touching this account"),
    rider_id: str | None = Query(None, max_length=32),
    kind: Literal["top_up", "fare", "refund", "payout"] | None = Query(None),
    since: datetime | None = Query(None), until: datetime | None = Query(None),
    offset: PageOffset = 0, limit: int = Query(100, ge=1, le=1000),
    key: ApiKey = Depends(require(Permission.FACEPAY_READ)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """Ledger transactions with their entries, newest first."""
    fp = state.facepay
    items = fp.ledger(account_id=account, rider_id=rider_id, kind=kind, since=since, until=until, offset=offset,
                      limit=limit)
    return {"currency": fp.currency, "items": [t.to_dict() for t in items], "offset": offset, "limit": limit}


@router.post("/refunds", status_code=201)
def refund(
    body: RefundIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=128),
    key: ApiKey = Depends(require(Permission.FACEPAY_WRITE)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """Refund (part of) a fare: to the rider's account, or paid out if it is closed."""
    txn = state.facepay.refund(body.txn_id, actor=key.actor, amount=body.amount, reason=body.reason,
                               idempotency_key=idempotency_key)
    return {"transaction": txn.to_dict(), "replayed": txn.replayed}


@router.get("/disputes")
def list_disputes(
    status: Literal["open", "refunded", "rejected"] | None = Query(None),
    rider_id: str | None = Query(None, max_length=32),
    key: ApiKey = Depends(require(Permission.FACEPAY_READ)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    return {"items": [d.to_dict() for d in state.facepay.disputes(status=status, rider_id=rider_id)]}


@router.post("/disputes", status_code=201)
def open_dispute(
    body: DisputeIn, key: ApiKey = Depends(require(Permission.FACEPAY_WRITE)),
    state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """Open a dispute for a rider (riders open their own at `/v1/facepay/me/disputes`)."""
    return state.facepay.open_dispute(body.passage_id, body.reason, actor=key.actor).to_dict()


@router.post("/disputes/{dispute_id}/resolve")
def resolve_dispute(
    body: ResolveIn, dispute_id: str = Path(min_length=1, max_length=32),
    key: ApiKey = Depends(require(Permission.FACEPAY_WRITE)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    return state.facepay.resolve_dispute(dispute_id, refund=body.refund, actor=key.actor, amount=body.amount,
                                         note=body.note).to_dict()


@router.get("/disputes/{dispute_id}/evidence", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}, "description": "the gate frame (JPEG)"}})
def dispute_evidence(
    dispute_id: str = Path(min_length=1, max_length=32), key: ApiKey = Depends(require(Permission.FACEPAY_WRITE)),
    state: ServiceState = Depends(get_state),
) -> Response:
    """The gate frame of the disputed passage (an export of biometric data: audited)."""
    return Response(state.facepay.dispute_evidence(dispute_id, actor=key.actor), media_type="image/jpeg",
                    headers={"Cache-Control": "no-store"})


@router.get("/reports/daily")
def daily_report(
    day: datetime | None = Query(None, description="any time in the UTC day to report (default: today)"),
    key: ApiKey = Depends(require(Permission.FACEPAY_READ)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """The reconciliation report: the day's movements and the whole ledger's invariants."""
    return state.facepay.reconciliation(day).to_dict()


@router.get("/fares")
def fares(
    key: ApiKey = Depends(require(Permission.FACEPAY_READ)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """The fare table in force (`facepay.fares`), in minor units of `currency`."""
    fs = state.settings.facepay
    return {"currency": fs.currency, **fs.fares.model_dump(), "same_passage_s": fs.same_passage_s,
            "tap_out_timeout_s": fs.tap_out_timeout_s}
