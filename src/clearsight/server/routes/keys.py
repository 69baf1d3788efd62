"""API key administration (admin only); the same store `clearsight keys` manages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..schemas import KeyCreate, KeyCreated, KeyOut
from ..state import ServiceState

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)


@router.get("", response_model=list[KeyOut])
def list_keys(
    key: ApiKey = Depends(require(Permission.KEYS_ADMIN)), state: ServiceState = Depends(get_state)
) -> list[dict]:
    """Every key (never the secret): role, created, last used, revoked."""
    return [k.to_dict() for k in state.keys.list()]


@router.post("", response_model=KeyCreated, status_code=201)
def create_key(
    body: KeyCreate, key: ApiKey = Depends(require(Permission.KEYS_ADMIN)), state: ServiceState = Depends(get_state)
) -> dict:
    """A new key; the response is the only time its secret is shown."""
    row, plain = state.keys.create(body.role, body.name, body.rate_limit)
    return {**row.to_dict(), "key": plain}


@router.delete("/{key_id}", response_model=KeyOut)
def revoke_key(
    key_id: str = Path(max_length=64),
    key: ApiKey = Depends(require(Permission.KEYS_ADMIN)),
    state: ServiceState = Depends(get_state),
) -> dict:
    """Revoke a key at once (kept for the audit trail, never deleted)."""
    return state.keys.revoke(key_id).to_dict()
