"""Identities, their faces and their consents. Writing needs `identities:write`
(operator, admin); every change is audited by the gallery with the calling key."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from ...io import load_image
from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..inputs import image_body_openapi, parse_image_request
from ..schemas import (
    ConsentCreate,
    ConsentOut,
    EnrolOut,
    EnrolParams,
    EraseOut,
    IdentityCreate,
    IdentityOut,
    IdentityExport,
    IdentityPage,
    IdentityUpdate,
    PurgeOut,
)
from ..state import ServiceState

router = APIRouter(prefix="/v1", tags=["identities"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)

IdPath = Path(min_length=1, max_length=64, description="the identity's id")


def consent_out(c: Any) -> ConsentOut:
    d = c.to_dict()
    return ConsentOut(**d, active=c.valid_at(datetime.now(timezone.utc)))


def identity_out(state: ServiceState, ident: Any, with_consents: bool = True) -> IdentityOut:
    consents = None
    if with_consents:
        consents = [consent_out(c) for c in state.gallery.list_consents(ident.id)]
    return IdentityOut(**ident.to_dict(), consents=consents)


@router.get("/identities", response_model=IdentityPage)
def list_identities(
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(100, ge=1, le=500),
    key: ApiKey = Depends(require(Permission.IDENTITIES_READ)),
    state: ServiceState = Depends(get_state),
) -> IdentityPage:
    """Enrolled people with their consent records (no biometric data)."""
    g = state.gallery
    items = [identity_out(state, i) for i in g.list_identities(offset=offset, limit=limit)]
    return IdentityPage(items=items, offset=offset, limit=limit, total=g.count_identities())


@router.post("/identities", response_model=IdentityOut, status_code=201)
def create_identity(
    body: IdentityCreate, key: ApiKey = Depends(require(Permission.IDENTITIES_WRITE)), state: ServiceState = Depends(get_state)
) -> IdentityOut:
    """A person, before any face: add a consent, then enrol faces."""
    ident = state.gallery.create_identity(
        external_id=body.external_id, display_name=body.display_name, attributes=body.attributes, actor=key.actor
    )
    return identity_out(state, ident)


@router.get("/identities/{identity_id}", response_model=IdentityOut)
def get_identity(
    identity_id: str = IdPath,
    key: ApiKey = Depends(require(Permission.IDENTITIES_READ)),
    state: ServiceState = Depends(get_state),
) -> IdentityOut:
    return identity_out(state, state.gallery.get_identity(identity_id))


@router.patch("/identities/{identity_id}", response_model=IdentityOut)
def update_identity(
    body: IdentityUpdate,
    identity_id: str = IdPath,
    key: ApiKey = Depends(require(Permission.IDENTITIES_WRITE)),
    state: ServiceState = Depends(get_state),
) -> IdentityOut:
    """Change the name, your external id or the attributes (audited by field name, not value)."""
    ident = state.gallery.update_identity(
        identity_id,
        actor=key.actor,
        display_name=body.display_name,
        attributes=body.attributes,
        external_id=body.external_id,
    )
    return identity_out(state, ident)


@router.delete("/identities/{identity_id}", response_model=EraseOut)
def erase_identity(
    identity_id: str = IdPath,
    key: ApiKey = Depends(require(Permission.IDENTITIES_WRITE)),
    state: ServiceState = Depends(get_state),
) -> EraseOut:
    """Erase a person: templates, consents, memberships and index entries (the audit log keeps that it happened)."""
    state.gallery.erase_identity(identity_id, actor=key.actor)
    return EraseOut(erased=identity_id)


@router.post(
    "/identities/{identity_id}/faces",
    response_model=EnrolOut,
    status_code=201,
    openapi_extra=image_body_openapi(EnrolParams, ("image",), ("image",)),
)
async def enrol_face(
    request: Request,
    identity_id: str = IdPath,
    key: ApiKey = Depends(require(Permission.IDENTITIES_WRITE)),
    state: ServiceState = Depends(get_state),
) -> EnrolOut:
    """Add a face photo to an identity. Needs a valid consent; refused (422, `quality_rejected`)
    when the face is too small, blurred, dark or turned away, with the reasons."""
    _, images = await parse_image_request(request, EnrolParams, ("image",), ("image",))

    def work() -> EnrolOut:
        rgb = load_image(images["image"])
        g = state.gallery
        with state.inference():
            r = g.enrol(identity_id, rgb, actor=key.actor)
        return EnrolOut(identity_id=identity_id, **r.to_dict())

    return await run_in_threadpool(work)


@router.get("/identities/{identity_id}/consents", response_model=list[ConsentOut])
def list_consents(
    identity_id: str = IdPath,
    key: ApiKey = Depends(require(Permission.IDENTITIES_READ)),
    state: ServiceState = Depends(get_state),
) -> list[ConsentOut]:
    g = state.gallery
    g.get_identity(identity_id)  # 404 for an unknown person, not an empty list
    return [consent_out(c) for c in g.list_consents(identity_id)]


@router.post("/identities/{identity_id}/consents", response_model=ConsentOut, status_code=201)
def add_consent(
    body: ConsentCreate,
    identity_id: str = IdPath,
    key: ApiKey = Depends(require(Permission.IDENTITIES_WRITE)),
    state: ServiceState = Depends(get_state),
) -> ConsentOut:
    """Record a consent or legal basis for one purpose (login, kyc, access, facepay, watchlist, photos)."""
    c = state.gallery.add_consent(
        identity_id,
        body.purpose,
        legal_basis=body.legal_basis,
        granted_by=body.granted_by,
        expires_at=body.expires_at,
        actor=key.actor,
    )
    return consent_out(c)


@router.delete("/consents/{consent_id}", response_model=ConsentOut)
def withdraw_consent(
    consent_id: str = Path(min_length=1, max_length=64),
    key: ApiKey = Depends(require(Permission.IDENTITIES_WRITE)),
    state: ServiceState = Depends(get_state),
) -> ConsentOut:
    """Withdraw a consent: the person stops matching searches for that purpose at once."""
    return consent_out(state.gallery.withdraw_consent(consent_id, actor=key.actor))


@router.get("/identities/{identity_id}/export", response_model=IdentityExport)
def export_identity(
    identity_id: str = IdPath,
    key: ApiKey = Depends(require(Permission.IDENTITIES_READ)),
    state: ServiceState = Depends(get_state),
) -> IdentityExport:
    """Everything held about a person except biometric data: for access requests (audited)."""
    return IdentityExport(**state.gallery.export_identity(identity_id, actor=key.actor))


@router.post("/retention/purge", response_model=PurgeOut, tags=["retention"])
def purge_expired(
    key: ApiKey = Depends(require(Permission.RETENTION)), state: ServiceState = Depends(get_state)
) -> PurgeOut:
    """Apply retention now: drop expired/withdrawn consents and the templates left without
    a legal basis (admin only; also what a scheduled job would call)."""
    return PurgeOut(**state.gallery.purge_expired(actor=key.actor).to_dict())
