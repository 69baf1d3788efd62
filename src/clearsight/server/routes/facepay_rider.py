"""A rider's own account (`/v1/facepay/me`), authenticated by the rider's key.

Riders are not operators: they get no API key and no role. Enrolment hands each
rider a key of their own (`fpr_<rider id>_<secret>`, stored hashed, shown once,
replaced by `POST /v1/facepay/riders/{id}/key`), sent as `X-Rider-Key`. It opens
exactly one account, read-only, plus disputing one's own passages: it can never
identify anyone, list riders or move money. Failed attempts count against the
client address like API keys do.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ...apps.facepay import Rider
from ..auth import unauthorized
from ..deps import AUTH_FAILURES_PER_MINUTE, AuthFirstRoute, get_state
from ..errors import PROBLEM_RESPONSES
from ..state import ServiceState
from ..schemas import PageOffset

router = APIRouter(prefix="/v1/facepay/me", tags=["facepay rider"], responses=PROBLEM_RESPONSES,
                   route_class=AuthFirstRoute)


class MyDispute(BaseModel):
    model_config = ConfigDict(extra="forbid")
    passage_id: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=3, max_length=500)


def current_rider(request: Request, state: ServiceState = Depends(get_state)) -> Rider:
    client = request.client.host if request.client else "unknown"
    state.auth_failures.ensure_available(client, AUTH_FAILURES_PER_MINUTE)
    token = (request.headers.get("x-rider-key") or "").strip()
    rider = state.facepay.authenticate_rider(token) if token else None
    if rider is None:
        if token:
            state.auth_failures.check(client, AUTH_FAILURES_PER_MINUTE)
        raise unauthorized("a rider key is required: send `X-Rider-Key: fpr_...` (given at enrolment)")
    return rider


@router.get("")
def my_account(
    offset: PageOffset = 0, limit: int = Query(50, ge=1, le=500),
    rider: Rider = Depends(current_rider), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """My balance, journeys, money movements and disputes."""
    fp = state.facepay
    out = fp.history(rider.id, offset, limit)
    out["passages"] = [{k: v for k, v in p.to_dict().items() if k not in ("similarity", "live_score")}
                       for p in fp.passages(rider_id=rider.id, limit=limit)]
    out["disputes"] = [d.to_dict() for d in fp.disputes(rider_id=rider.id)]
    out["dispute_window_days"] = state.settings.facepay.dispute_window_days
    return out


@router.post("/disputes", status_code=201)
def my_dispute(
    body: MyDispute, rider: Rider = Depends(current_rider), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """Dispute one of my passages (within the dispute window)."""
    return state.facepay.open_dispute(body.passage_id, body.reason, actor=f"rider:{rider.id}",
                                      rider_id=rider.id).to_dict()
