"""Plate hot-lists: watch lists of plates, each under a recorded legal basis.

A hot-list cannot be created without a legal basis and a purpose, and only plates on
an active list (basis on record, not expired, alerting) raise `plate.hotlist_match`
on a camera. Every change is an audit entry (`plates.hotlist.*`); auditors may read
the lists, operators and admins change them.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ...apps.plates.records import PURPOSES
from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..state import ServiceState

router = APIRouter(prefix="/v1/plates/hotlists", tags=["plates"], responses=PROBLEM_RESPONSES,
                   route_class=AuthFirstRoute)

IdPath = Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$", description="the hot-list's id")
Plates = list[str]


class HotListCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    purpose: str = Field(description=f"why the list exists: one of {', '.join(PURPOSES)}")
    legal_basis: str = Field(
        min_length=3, max_length=255,
        description="the recorded legal basis, e.g. 'GDPR 6(1)(e); police request 2026/114'. Required: without one "
        "no plate may alert.")
    expires_at: datetime | None = Field(None, description="the list stops alerting then (ISO 8601)")
    alert: bool = Field(True, description="raise plate.hotlist_match on its plates")
    plates: Plates = Field(default_factory=list, max_length=1000, description="plates on the list (separators ignored)")


class HotListUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    legal_basis: str | None = Field(None, min_length=3, max_length=255)
    expires_at: datetime | None = Field(None, description="a new expiry; null clears it")
    alert: bool | None = None


class PlatesAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plates: Plates = Field(min_length=1, max_length=1000)
    note: str = Field("", max_length=255, description="why these plates are listed (shown in the alert)")


class HotListOut(BaseModel):
    id: str
    name: str
    purpose: str
    legal_basis: str
    created_by: str
    created_at: str
    expires_at: str | None
    alert: bool
    plates: list[str]


class HotListPage(BaseModel):
    items: list[HotListOut]


@router.get("", response_model=HotListPage)
def list_hotlists(
    key: ApiKey = Depends(require(Permission.HOTLISTS_READ)), state: ServiceState = Depends(get_state)
) -> HotListPage:
    return HotListPage(items=[HotListOut(**h.to_dict()) for h in state.plates.hotlists()])


@router.post("", response_model=HotListOut, status_code=201)
def create_hotlist(
    body: HotListCreate, key: ApiKey = Depends(require(Permission.HOTLISTS_WRITE)),
    state: ServiceState = Depends(get_state),
) -> HotListOut:
    h = state.plates.create_hotlist(body.name, purpose=body.purpose, legal_basis=body.legal_basis, actor=key.actor,
                                    expires_at=body.expires_at, alert=body.alert, plates=body.plates)
    return HotListOut(**h.to_dict())


@router.get("/{hotlist_id}", response_model=HotListOut)
def get_hotlist(
    hotlist_id: str = IdPath, key: ApiKey = Depends(require(Permission.HOTLISTS_READ)),
    state: ServiceState = Depends(get_state),
) -> HotListOut:
    return HotListOut(**state.plates.hotlist(hotlist_id).to_dict())


@router.patch("/{hotlist_id}", response_model=HotListOut)
def update_hotlist(
    body: HotListUpdate, hotlist_id: str = IdPath, key: ApiKey = Depends(require(Permission.HOTLISTS_WRITE)),
    state: ServiceState = Depends(get_state),
) -> HotListOut:
    clear = "expires_at" in body.model_fields_set and body.expires_at is None
    h = state.plates.update_hotlist(hotlist_id, actor=key.actor, legal_basis=body.legal_basis,
                                    expires_at=body.expires_at, clear_expiry=clear, alert=body.alert)
    return HotListOut(**h.to_dict())


@router.delete("/{hotlist_id}", status_code=204, response_class=Response)
def delete_hotlist(
    hotlist_id: str = IdPath, key: ApiKey = Depends(require(Permission.HOTLISTS_WRITE)),
    state: ServiceState = Depends(get_state),
) -> Response:
    state.plates.delete_hotlist(hotlist_id, actor=key.actor)
    return Response(status_code=204)


@router.post("/{hotlist_id}/plates", response_model=HotListOut)
def add_plates(
    body: PlatesAdd, hotlist_id: str = IdPath, key: ApiKey = Depends(require(Permission.HOTLISTS_WRITE)),
    state: ServiceState = Depends(get_state),
) -> HotListOut:
    return HotListOut(**state.plates.add_plates(hotlist_id, body.plates, actor=key.actor, note=body.note).to_dict())


@router.delete("/{hotlist_id}/plates/{plate}", response_model=HotListOut)
def remove_plate(
    hotlist_id: str = IdPath, plate: str = Path(min_length=1, max_length=40),
    key: ApiKey = Depends(require(Permission.HOTLISTS_WRITE)), state: ServiceState = Depends(get_state),
) -> HotListOut:
    return HotListOut(**state.plates.remove_plate(hotlist_id, plate, actor=key.actor).to_dict())
