"""The audit log (read-only, `audit:read`: auditors and admins) and its chain check."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query

from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..schemas import AuditEntryOut, AuditPage, AuditVerificationOut
from ..state import ServiceState

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)


@router.get("", response_model=AuditPage)
def audit_entries(
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(100, ge=1, le=1000),
    order: Literal["asc", "desc"] = Query("asc", description="by `seq`: asc oldest first, desc newest first"),
    action: str | None = Query(None, min_length=1, max_length=64, description="only this action, e.g. `search`, `verify`, `erase`"),
    target: str | None = Query(None, min_length=1, max_length=255, description="only entries about this target (an identity id, a group)"),
    key: ApiKey = Depends(require(Permission.AUDIT_READ)),
    state: ServiceState = Depends(get_state),
) -> AuditPage:
    """Who did what, to whom, for which purpose, with which outcome; oldest first unless
    `order=desc`. `action` and `target` answer a data subject's "who looked me up?"."""
    g = state.gallery
    rows = g.audit_entries(offset=offset, limit=limit, action=action, target=target, newest_first=order == "desc")
    return AuditPage(items=[AuditEntryOut(**e.to_dict()) for e in rows], offset=offset, limit=limit,
                     total=g.count_audit_entries(action=action, target=target))


@router.get("/verify", response_model=AuditVerificationOut)
def verify_audit(
    key: ApiKey = Depends(require(Permission.AUDIT_READ)), state: ServiceState = Depends(get_state)
) -> AuditVerificationOut:
    """Recompute the hash chain: `ok` false names the first altered or missing entry."""
    return AuditVerificationOut(**state.gallery.verify_audit().to_dict())
