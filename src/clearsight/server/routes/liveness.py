"""Liveness over HTTP: the passive score of a photo, and active-challenge sessions.

A session (`face.liveness_session.LivenessSession`, in the service's session pool)
is issued with a random order of actions, a nonce and an expiry; the client posts
frames (JPEG) with the nonce and gets progress back; the result says passed or
failed and why. The clock of a live session is the server's arrival time, never a
time the client sends, so a recorded session cannot be replayed slower or faster
than the prompts. Sessions are per API key and few (each holds a face-mesh graph).
Nothing is stored: frames are dropped after analysis (the best frontal frame stays
in memory for the session's life, for the flows that match the live face).

Flows that need a live person (KYC, log-in) take a `liveness_session_id` and call
`consume_liveness(state, key, session_id)`: a passed session proves liveness once,
for the key that ran it, and hands over its best frontal frame for the 1:1 match.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path as PathParam, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ...face.challenge import ACTIONS, ChallengeConfig
from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..inputs import image_body_openapi, parse_image_request
from ..state import ServiceState

router = APIRouter(prefix="/v1/liveness", tags=["liveness"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)

# Checking a face for liveness analyses it, like detect and the live pages.
PERMISSION = Permission.ANALYZE
SessionId = Annotated[str, PathParam(max_length=64, description="the session id POST /v1/liveness/sessions returned")]


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")


def consume_liveness(state: ServiceState, key: ApiKey, session_id: str) -> dict[str, Any]:
    """The single-use proof of a passed challenge run by this key (steps, times, the
    session's passive score, `reference_frame` RGB); refuses a session that has not
    passed or was already used (409 `liveness_not_passed`), an unknown one (404)."""
    s = state.liveness_sessions.get(key.id, session_id)
    with s.lock:
        return s.value.consume()


class CheckParams(BaseModel):
    mode: str | None = Field(None, pattern="^(frame|crop)$",
                             description="`frame` (reads the context round the face too) or `crop` (the face only); "
                             "by default `frame` when the image shows enough round the face")


class CheckOut(BaseModel):
    width: int
    height: int
    faces: list[dict[str, Any]]


@router.post("", response_model=CheckOut, openapi_extra=image_body_openapi(CheckParams, ("image",), ("image",)))
async def check(request: Request, key: ApiKey = Depends(require(PERMISSION)),
                state: ServiceState = Depends(get_state)) -> dict[str, Any]:
    """Passive liveness of every face in a photo: `live_score` 0..1 (>= 0.5 judged live).

    Trained on printed-photo attacks only (NUAA); one signal, never a sole gate: use a
    session (active challenge) where a decision matters.
    """
    p, images = await parse_image_request(request, CheckParams, ("image",), ("image",))

    def work() -> dict[str, Any]:
        from ...io import load_image

        rgb = load_image(images["image"])
        lv = state.passive_liveness
        with state.inference() as pipe:
            faces = pipe.detect(rgb, mesh=True)
            out = [lv.check(rgb, f, p.mode).to_dict() for f in faces]
        return {"width": rgb.shape[1], "height": rgb.shape[0], "faces": out}

    return await run_in_threadpool(work)


class SessionIn(BaseModel):
    steps: int = Field(3, ge=1, le=len(ACTIONS), description=f"how many actions, drawn from {', '.join(ACTIONS)}")


class Step(BaseModel):
    action: str
    prompt: str
    done: bool = False
    at_s: float | None = None


class SessionOut(BaseModel):
    session_id: str
    nonce: str = Field(description="send it with every frame of this session")
    steps: list[Step]
    expires: str
    expires_in_s: float
    step_timeout_s: float
    status: str
    passed: bool
    current_step: int | None
    prompt: str
    reasons: list[str]
    passive_live_score: float | None
    frames: int


def session_out(s: Any) -> dict[str, Any]:
    import time

    sess = s.value
    st = sess.result().to_dict()
    c = sess.challenge
    return {"session_id": s.id, "nonce": c.nonce, "expires": _iso(c.expires_at),
            "expires_in_s": round(max(0.0, c.expires_at - time.time()), 1), "step_timeout_s": c.config.step_timeout_s, **st}


@router.post("/sessions", status_code=201, response_model=SessionOut)
async def create_session(body: SessionIn | None = Body(None), key: ApiKey = Depends(require(PERMISSION)),
                         state: ServiceState = Depends(get_state)) -> dict[str, Any]:
    """Issue a challenge: a random order of actions, a nonce, an expiry.

    Show the prompt of `current_step` (the first frames calibrate the neutral pose:
    look at the camera), post frames with the nonce, stop when `status` is `passed` or `failed`.
    """
    from ...face.liveness_session import LivenessSession

    config = ChallengeConfig(steps=body.steps if body else 3)
    passive = await run_in_threadpool(lambda: state.passive_liveness)
    session = await run_in_threadpool(state.liveness_sessions.create, key.id, lambda: LivenessSession(config, passive))
    return session_out(session)


class FrameParams(BaseModel):
    nonce: str = Field(..., max_length=64, description="the session's nonce")


class FrameOut(SessionOut):
    frame: dict[str, Any] | None = Field(None, description="what this frame showed: head pose, eyes, mouth, its live score")


@router.post("/sessions/{name}/frames", response_model=FrameOut,
             openapi_extra=image_body_openapi(FrameParams, ("image",), ("image",)))
async def post_frame(request: Request, name: SessionId, key: ApiKey = Depends(require(PERMISSION)),
                     state: ServiceState = Depends(get_state)) -> dict[str, Any]:
    """One frame of the challenge (JPEG, PNG ...): the progress after it.

    A frame with another session's nonce fails the session; so do a second face in
    view, an action out of order, a step not done in its window, and the expiry.
    """
    session = state.liveness_sessions.get(key.id, name)
    p, images = await parse_image_request(request, FrameParams, ("image",), ("image",))

    def work() -> dict[str, Any]:
        from ...io import load_image

        rgb = load_image(images["image"])  # a malformed image is refused before the session sees it
        with session.lock:
            out = session.value.feed(rgb, p.nonce)
        return {**session_out(session), "frame": out.get("frame")}

    return await run_in_threadpool(work)


@router.get("/sessions/{name}", response_model=SessionOut)
def get_session(name: SessionId, key: ApiKey = Depends(require(PERMISSION)),
                state: ServiceState = Depends(get_state)) -> dict[str, Any]:
    """The result so far: status, steps done, and the reasons a failed session failed."""
    s = state.liveness_sessions.get(key.id, name)
    with s.lock:
        return session_out(s)


@router.delete("/sessions/{name}", status_code=204, response_class=Response)
async def end_session(name: SessionId, key: ApiKey = Depends(require(PERMISSION)),
                      state: ServiceState = Depends(get_state)) -> Response:
    """End the session and free its models and frames."""
    await run_in_threadpool(state.liveness_sessions.end, key.id, name)
    return Response(status_code=204)
