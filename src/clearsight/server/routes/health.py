"""Liveness, readiness and who-am-I: what load balancers and the console poll."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from ... import __version__
from ..auth import ApiKey
from ..deps import AuthFirstRoute, current_key, get_state
from ..errors import PROBLEM_JSON, PROBLEM_RESPONSES, Problem
from ..schemas import HealthOut, KeyOut, ReadyOut
from ..state import ServiceState

router = APIRouter(tags=["service"], route_class=AuthFirstRoute)


@router.get("/healthz", response_model=HealthOut)
def healthz(state: ServiceState = Depends(get_state)) -> HealthOut:
    """The process is up (says nothing about models)."""
    return HealthOut(status="ok", version=__version__, uptime_s=round(time.time() - state.started, 1))


class NotReadyProblem(Problem):
    ready: bool
    models_loaded: bool
    gallery: str


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": NotReadyProblem, "content": {PROBLEM_JSON: {}}, "description": "not ready yet"}},
)
def readyz(state: ServiceState = Depends(get_state)) -> JSONResponse:
    """Models loaded and gallery open: 200; still loading or failed: 503 problem with the reason."""
    ready = state.ready.is_set()
    if not state.gallery_available:
        gallery = "unavailable"
    else:
        gallery = "ok" if state.gallery_opened else "not_opened"
    body = ReadyOut(ready=ready, models_loaded=ready, gallery=gallery, detail=state.warmup_error)
    if ready:
        return JSONResponse(body.model_dump())
    problem = NotReadyProblem(
        title="Service Unavailable",
        status=503,
        code="not_ready",
        detail=state.warmup_error or "models are still loading",
        instance="/readyz",
        ready=False,
        models_loaded=False,
        gallery=gallery,
    )
    return JSONResponse(problem.model_dump(exclude_none=True), status_code=503, media_type=PROBLEM_JSON)


@router.get("/v1/me", response_model=KeyOut, responses=PROBLEM_RESPONSES)
def me(key: ApiKey = Depends(current_key)) -> dict:
    """The calling key: its role and permissions (the console shows pages by these)."""
    return key.to_dict()
