"""Gate passages and journeys (`/v1/facepay/passages`, `/v1/facepay/journeys`).

A gate sends each frame it wants decided with an `Idempotency-Key` header, one key
per passage attempt, the same key again when it retries (timeout, lost answer,
crash): the stored answer comes back (`replayed: true`, header `Idempotent-Replayed`)
and nothing is charged twice. The same key with another frame or gate is refused
(422 `idempotency_key_reused`); an unknown gate is 404 and a frame that is not an
image 4xx, before anything is stored. Every other answer is 200: `opens_gate` says
whether the gate opens by face; when it does not (`outcome: refused`) nobody is
charged and `message` tells the rider to use a ticket and why.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ...errors import InputError
from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..inputs import image_body_openapi, parse_image_request
from ..state import ServiceState
from ..schemas import PageOffset

router = APIRouter(prefix="/v1/facepay", tags=["facepay"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)

MESSAGES = {
    "entered": "Welcome: journey started.",
    "charged": "Journey ended: fare charged.",
    "duplicate": "Already through: no second charge.",
    "no_face": "No face seen: please use a ticket.",
    "several_faces": "More than one person at the gate: please use a ticket.",
    "low_quality": "The face was not clear enough: please use a ticket.",
    "not_live": "Face check failed: please use a ticket.",
    "no_match": "Not recognised: please use a ticket.",
    "ambiguous": "Not sure who you are: please use a ticket.",
    "no_consent": "Face-pay is not active on this account: please use a ticket.",
    "not_a_rider": "No face-pay account: please use a ticket.",
    "account_closed": "This face-pay account is closed: please use a ticket.",
    "insufficient_balance": "Balance too low for this journey: top up, or use a ticket.",
    "no_tap_in": "No face-pay journey to end here: use the ticket you entered with.",
}


class PassageParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gate_id: str = Field(min_length=1, max_length=64, description="the gate that saw the face")


def passage_out(p: Any) -> dict[str, Any]:
    d = p.to_dict()
    d["message"] = MESSAGES.get(p.reason or p.outcome, "Please use a ticket.")
    return d


@router.post("/passages", openapi_extra=image_body_openapi(PassageParams, ("image",), ("image",)))
async def passage(
    request: Request, response: Response,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=128,
                                         description="one per passage attempt; resend it when retrying"),
    key: ApiKey = Depends(require(Permission.FACEPAY_GATE)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """Decide one gate frame: open by face and start or end (charge) a journey, or refuse."""
    if not idempotency_key:
        raise InputError("send an Idempotency-Key header (e.g. a UUID), one per passage attempt, the same on retries")
    params, images = await parse_image_request(request, PassageParams, ("image",), ("image",))
    p = await run_in_threadpool(state.facepay.passage, params.gate_id, images["image"], idempotency_key)
    if p.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return passage_out(p)


@router.get("/passages")
def list_passages(
    rider_id: str | None = Query(None, max_length=32), gate_id: str | None = Query(None, max_length=64),
    offset: PageOffset = 0, limit: int = Query(100, ge=1, le=1000),
    key: ApiKey = Depends(require(Permission.FACEPAY_READ)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    items = state.facepay.passages(rider_id=rider_id, gate_id=gate_id, offset=offset, limit=limit)
    return {"items": [passage_out(p) for p in items], "offset": offset, "limit": limit}


@router.get("/passages/{passage_id}")
def get_passage(
    passage_id: str = Path(min_length=1, max_length=32), key: ApiKey = Depends(require(Permission.FACEPAY_READ)),
    state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    return passage_out(state.facepay.get_passage(passage_id))


@router.get("/journeys")
def list_journeys(
    rider_id: str | None = Query(None, max_length=32),
    status: str | None = Query(None, pattern="^(open|completed|capped)$"),
    offset: PageOffset = 0, limit: int = Query(100, ge=1, le=1000),
    key: ApiKey = Depends(require(Permission.FACEPAY_READ)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    items = state.facepay.journeys(rider_id=rider_id, status=status, offset=offset, limit=limit)
    return {"items": [j.to_dict() for j in items], "offset": offset, "limit": limit}


@router.post("/housekeeping")
def housekeeping(
    key: ApiKey = Depends(require(Permission.FACEPAY_WRITE)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """Close journeys left open past the timeout at the capped fare, and delete dispute
    snapshots past the window, now (gates also trigger it every 30 s)."""
    return state.facepay.housekeeping(actor=key.actor).to_dict()
