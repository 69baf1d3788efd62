"""Face-pay riders, their accounts and the gates (`/v1/facepay/...`).

Enrolling a rider creates an identity with a `facepay` consent, its face templates
and a stored-value account, and returns the rider's own key once (for
`/v1/facepay/me`). Amounts are integer minor units of `facepay.currency`. Top-ups
take an optional `Idempotency-Key` header: a retried top-up adds the money once.
Passages, journeys, the ledger, refunds, disputes and reports are in the sibling
modules `facepay_passages` and `facepay_ledger`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..inputs import image_body_openapi, parse_image_request
from ..state import ServiceState
from ..schemas import MAX_MINOR_UNITS, PageOffset

router = APIRouter(prefix="/v1/facepay", tags=["facepay"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)

PHOTO_FIELDS = ("photo", "photo2", "photo3")
RiderId = Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]{1,32}$")


class RiderEnrolParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: str = Field(min_length=1, max_length=255)
    external_id: str | None = Field(None, max_length=255)
    granted_by: str = Field("the data subject", min_length=1, max_length=255,
                            description="who gave the facepay consent")
    expires_at: datetime | None = Field(None, description="consent expiry (ISO 8601)")
    top_up: int = Field(0, ge=0, le=MAX_MINOR_UNITS, description="initial top-up, minor units (0: none)")


class RegisterRider(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identity_id: str = Field(min_length=1, max_length=32, description="an identity with a valid facepay consent")


class TopUp(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(ge=-MAX_MINOR_UNITS, le=MAX_MINOR_UNITS, description="minor units (e.g. 1000 = 10.00)")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="must be facepay.currency if given")
    memo: str = Field("", max_length=255)


class GateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64)
    station: str = Field(min_length=1, max_length=100)
    direction: Literal["in", "out"]


def _enrolment(e: Any, top_up: Any = None) -> dict[str, Any]:
    out = {"rider": e.rider.to_dict(), "rider_key": e.rider_key, "refused_photos": list(e.refused_photos)}
    if top_up is not None:
        out["top_up"] = top_up.to_dict()
        out["rider"]["balance"] += top_up.amount_for(f"rider:{e.rider.id}")
    return out


@router.post("/riders", status_code=201,
             openapi_extra=image_body_openapi(RiderEnrolParams, PHOTO_FIELDS, ("photo",)))
async def enrol_rider(
    request: Request, key: ApiKey = Depends(require(Permission.FACEPAY_WRITE)),
    state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """Enrol a rider from 1-3 photos: identity, facepay consent, templates and account.
    The response carries `rider_key` once: hand it to the rider for their account page."""
    params, images = await parse_image_request(request, RiderEnrolParams, PHOTO_FIELDS, ("photo",))

    def work() -> dict[str, Any]:
        fp = state.facepay
        photos = [images[f] for f in PHOTO_FIELDS if f in images]
        e = fp.enrol_rider(params.display_name, photos, actor=key.actor, external_id=params.external_id,
                           granted_by=params.granted_by, expires_at=params.expires_at)
        t = fp.top_up(e.rider.id, params.top_up, actor=key.actor, memo="at enrolment") if params.top_up else None
        return _enrolment(e, t)

    return await run_in_threadpool(work)


@router.post("/riders/register", status_code=201)
def register_rider(
    body: RegisterRider, key: ApiKey = Depends(require(Permission.FACEPAY_WRITE)),
    state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """Open an account for an identity already enrolled with a valid facepay consent."""
    return _enrolment(state.facepay.register_rider(body.identity_id, actor=key.actor))


@router.get("/riders")
def list_riders(
    offset: PageOffset = 0, limit: int = Query(100, ge=1, le=1000),
    key: ApiKey = Depends(require(Permission.FACEPAY_READ)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    return {"items": [r.to_dict() for r in state.facepay.riders(offset, limit)], "offset": offset, "limit": limit}


@router.get("/riders/{rider_id}")
def get_rider(
    rider_id: str = RiderId, key: ApiKey = Depends(require(Permission.FACEPAY_READ)),
    state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    return state.facepay.rider(rider_id).to_dict()


@router.delete("/riders/{rider_id}")
def erase_rider(
    rider_id: str = RiderId, key: ApiKey = Depends(require(Permission.FACEPAY_WRITE)),
    state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """Right to erasure: the face and identity go, the balance is refunded (paid out), the
    account closes; the payment records the law requires stay, under a pseudonymous id."""
    return state.facepay.erase_rider(rider_id, actor=key.actor).to_dict()


@router.post("/riders/{rider_id}/key", status_code=201)
def new_rider_key(
    rider_id: str = RiderId, key: ApiKey = Depends(require(Permission.FACEPAY_WRITE)),
    state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """A new rider key (the old one stops working): for a rider who lost theirs."""
    return {"rider_id": rider_id, "rider_key": state.facepay.new_rider_key(rider_id, actor=key.actor)}


@router.get("/accounts")
def list_accounts(
    key: ApiKey = Depends(require(Permission.FACEPAY_READ)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """Every ledger account (riders' stored value and the system accounts) with its balance."""
    fp = state.facepay
    return {"currency": fp.currency, "items": fp.accounts()}


@router.get("/accounts/{rider_id}")
def account_history(
    rider_id: str = RiderId, offset: PageOffset = 0, limit: int = Query(100, ge=1, le=1000),
    key: ApiKey = Depends(require(Permission.FACEPAY_READ)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """A rider's balance, journeys and ledger transactions."""
    return state.facepay.history(rider_id, offset, limit)


@router.post("/accounts/{rider_id}/top-ups", status_code=201)
def top_up(
    body: TopUp, rider_id: str = RiderId,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=128,
                                         description="a retried top-up with the same key adds the money once"),
    key: ApiKey = Depends(require(Permission.FACEPAY_WRITE)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    fp = state.facepay
    txn = fp.top_up(rider_id, body.amount, actor=key.actor, currency=body.currency, idempotency_key=idempotency_key,
                    memo=body.memo)
    return {"transaction": txn.to_dict(), "balance": fp.rider(rider_id).balance, "currency": fp.currency,
            "replayed": txn.replayed}


@router.get("/gates")
def list_gates(
    key: ApiKey = Depends(require(Permission.FACEPAY_READ)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    return {"items": [g.to_dict() for g in state.facepay.gates()]}


@router.post("/gates", status_code=201)
def add_gate(
    body: GateIn, key: ApiKey = Depends(require(Permission.FACEPAY_WRITE)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    return state.facepay.add_gate(body.id, body.station, body.direction, actor=key.actor).to_dict()


@router.delete("/gates/{gate_id}", status_code=204)
def remove_gate(
    gate_id: str = Path(min_length=1, max_length=64), key: ApiKey = Depends(require(Permission.FACEPAY_WRITE)),
    state: ServiceState = Depends(get_state),
) -> None:
    state.facepay.remove_gate(gate_id, actor=key.actor)
