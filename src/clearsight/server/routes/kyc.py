"""KYC sign-up sessions and phone log-in over HTTP.

Sign-up, in three calls:

1. `POST /v1/kyc/sessions` opens a KYC session and, with it, a liveness session
   (a random order of actions and a nonce, `liveness` in the response);
2. the client runs the challenge: `POST /v1/liveness/sessions/{id}/frames` with the
   nonce, until its status is `passed` or `failed`;
3. `POST /v1/kyc/sessions/{id}/submit` with the ID document photo (`document`) and
   optionally a selfie (`selfie`; else the challenge's best frontal frame is the
   selfie). The liveness proof is consumed (once), and the decision `pass`,
   `review` or `fail` comes back with its reasons and what the document says.

`GET /v1/kyc/sessions/{id}` gives the stored outcome (decision, reasons, scores;
never the document's contents). A session opened with `"liveness": false` has no
challenge: its decision is at best `review`.

`POST /v1/login`: an identity (or its external id) and a passed liveness session
of this key. The session's frame is matched 1:1 against the identity (purpose
login); failures are counted in the database and lock the identity out (423).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, Field, model_validator
from starlette.concurrency import run_in_threadpool

from ...errors import ClearsightError
from ...face.challenge import ACTIONS, ChallengeConfig
from ..auth import ApiKey, Permission, forbidden
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..inputs import image_body_openapi, parse_image_request
from ..state import ServiceState
from .liveness import SessionId, session_out, consume_liveness

router = APIRouter(prefix="/v1", tags=["kyc"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)


class KycSessionIn(BaseModel):
    liveness: bool = Field(True, description="issue an active liveness challenge with the session (without one "
                           "the decision is at best `review`)")
    steps: int = Field(3, ge=1, le=len(ACTIONS), description="actions in the challenge")


class KycSessionOut(BaseModel):
    session_id: str
    status: str = Field(description="open | deciding | decided | expired")
    liveness_session_id: str | None
    created_at: str
    expires_at: str
    decided_at: str | None
    decision: str | None = Field(description="pass | review | fail, once decided")
    reasons: list[str]
    checks: dict[str, Any]
    liveness: dict[str, Any] | None = Field(None, description="the challenge to run (at creation only)")


@router.post("/kyc/sessions", status_code=201, response_model=KycSessionOut)
async def create_kyc_session(body: KycSessionIn | None = Body(None), key: ApiKey = Depends(require(Permission.VERIFY_IDENTITY)),
                             state: ServiceState = Depends(get_state)) -> dict[str, Any]:
    """Open a sign-up: a KYC session and the liveness challenge the applicant must do."""
    from ...face.liveness_session import LivenessSession

    body = body or KycSessionIn()
    live = None
    if body.liveness:
        passive = await run_in_threadpool(lambda: state.passive_liveness)
        config = ChallengeConfig(steps=body.steps)
        live = await run_in_threadpool(state.liveness_sessions.create, key.id, lambda: LivenessSession(config, passive))
    sess = await run_in_threadpool(state.kyc.create_session, key.id, key.actor, live.id if live else None)
    return {**sess.to_dict(), "liveness": session_out(live) if live else None}


@router.get("/kyc/sessions/{name}", response_model=KycSessionOut)
def get_kyc_session(name: SessionId, key: ApiKey = Depends(require(Permission.VERIFY_IDENTITY)),
                    state: ServiceState = Depends(get_state)) -> dict[str, Any]:
    """The session's status and, once decided, its decision, reasons and scores."""
    return state.kyc.get_session(key.id, name).to_dict()


class SubmitParams(BaseModel):
    model_config = {"extra": "forbid"}
    enrol: bool = Field(False, description="on `pass`, enrol the applicant (consents: kyc, login) from the selfie")
    external_id: str | None = Field(None, max_length=255, description="the customer id to enrol under")


class SubmitOut(KycSessionOut):
    document: dict[str, Any] = Field(description="what the document says (MRZ fields): returned once, never stored")
    identity_id: str | None = None


@router.post("/kyc/sessions/{name}/submit", response_model=SubmitOut,
             openapi_extra=image_body_openapi(SubmitParams, ("document", "selfie"), ("document",)))
async def submit_kyc(request: Request, name: SessionId, key: ApiKey = Depends(require(Permission.VERIFY_IDENTITY)),
                     state: ServiceState = Depends(get_state)) -> dict[str, Any]:
    """The ID document photo and (optionally) a selfie: the decision with its reasons.

    Needs `gallery:search` too (the duplicate-enrolment search), and `identities:write`
    with `enrol`. A session is decided once; a malformed upload leaves it open."""
    if not key.can(Permission.SEARCH):
        raise forbidden(key, Permission.SEARCH)
    params, images = await parse_image_request(request, SubmitParams, ("document", "selfie"), ("document",))
    if params.enrol and not key.can(Permission.IDENTITIES_WRITE):
        raise forbidden(key, Permission.IDENTITIES_WRITE)

    def work() -> dict[str, Any]:
        from ...apps.kyc import KycCheck, evidence
        from ...apps.kyc.flow import PASS, audit_details
        from ...io import load_image

        store = state.kyc
        doc = load_image(images["document"])  # malformed images are refused before the session is claimed
        selfie = load_image(images["selfie"]) if "selfie" in images else None
        sess = store.claim(key.id, name)
        try:
            ev = evidence.NO_LIVENESS
            if sess.liveness_session_id:
                try:
                    ev = evidence.from_proof(consume_liveness(state, key, sess.liveness_session_id),
                                             sess.liveness_session_id)
                except ClearsightError as exc:  # not passed, used, or gone (expired, ended)
                    ev = evidence.refused(exc, sess.liveness_session_id)
                evidence.audit_consumed(store, key.actor, "kyc", ev, sess.id)
            with state.inference() as pipe:
                check = KycCheck(pipe, state.gallery, state.settings, state.passive_liveness, state.document_reader)
                result = check.run(doc, selfie, ev, key.actor)
                if params.enrol and result.decision == PASS:
                    face = selfie if selfie is not None else ev.reference_frame
                    result = dataclasses.replace(result, identity_id=check.enrol(result, face, key.actor,
                                                                                 params.external_id))
        except BaseException:
            store.release(sess.id)
            raise
        done = store.decide(sess.id, key.actor, result.decision, list(result.reasons), result.checks,
                            audit_details(result))
        return {**done.to_dict(), "document": result.document, "identity_id": result.identity_id}

    return await run_in_threadpool(work)


class LoginIn(BaseModel):
    model_config = {"extra": "forbid"}
    identity_id: str | None = Field(None, max_length=64)
    external_id: str | None = Field(None, max_length=255, description="instead of identity_id")
    liveness_session_id: str = Field(..., max_length=64, description="a passed liveness session of this key")

    @model_validator(mode="after")
    def _one_identity(self) -> LoginIn:
        if (self.identity_id is None) == (self.external_id is None):
            raise ValueError("give identity_id or external_id (one of them)")
        return self


class LoginOut(BaseModel):
    identity_id: str
    success: bool
    reasons: list[str]
    similarity: float | None
    threshold: float | None
    operating_point: str | None
    failures: int = Field(description="failures in a row so far (0 after a success)")
    locked: bool = Field(description="this failure locked the identity out")


@router.post("/login", response_model=LoginOut)
async def login(body: LoginIn, key: ApiKey = Depends(require(Permission.VERIFY_IDENTITY)),
                state: ServiceState = Depends(get_state)) -> dict[str, Any]:
    """Log in with the face: a passed liveness session (consumed) matched 1:1 against the identity.

    `success: false` with reasons for a failed attempt (counted); 423 `login_locked`
    while the identity is locked out; 404 for an unknown identity."""

    def work() -> dict[str, Any]:
        from ...apps.kyc import evidence
        from ...apps.kyc.login import check_not_locked, login as decide

        store, gallery = state.kyc, state.gallery
        ident = gallery.find_identity(body.external_id) if body.external_id else gallery.get_identity(body.identity_id)
        check_not_locked(store, ident.id, key.actor)
        try:
            ev = evidence.from_proof(consume_liveness(state, key, body.liveness_session_id), body.liveness_session_id)
        except ClearsightError as exc:  # not passed, already used, unknown: a failed attempt
            ev = evidence.refused(exc, body.liveness_session_id)
        evidence.audit_consumed(store, key.actor, "login", ev, ident.id)
        with state.inference():
            return decide(gallery, store, ident.id, ev, key.actor).to_dict()

    return await run_in_threadpool(work)
