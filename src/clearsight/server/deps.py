"""Request dependencies: the service state, and the one authentication path.

A caller proves a key with a header (`Authorization: Bearer` or `X-API-Key`), or,
on the two streaming endpoints a browser opens without headers, with a single-use
stream ticket naming a key. Either way the same checks run: failed attempts are
rate-limited per client address (guessing keys costs time), the key's own rate
limit applies, and permissions come from its role. A stream stays authorised only
while its key does: it is re-checked every few seconds and closed on revocation.

Routes that need a key authenticate before FastAPI reads their body
(`AuthFirstRoute`), so an anonymous caller never gets a byte of JSON parsed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import Response

from .auth import ApiKey, Permission, forbidden, unauthorized
from .errors import ApiError
from .inputs import json_content_type, loads_bounded
from .state import ServiceState

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cs_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key in `X-API-Key`")

AUTH_FAILURES_PER_MINUTE = 20  # per client address: plenty for typos, useless for guessing
STREAM_RECHECK_S = 2.0


def get_state(request: Request) -> ServiceState:
    return request.app.state.clearsight


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _failed(request: Request, state: ServiceState, detail: str) -> ApiError:
    try:
        state.auth_failures.check(_client(request), AUTH_FAILURES_PER_MINUTE)
    except ApiError as exc:
        return exc
    return unauthorized(detail)


def _admit(request: Request, state: ServiceState, key: ApiKey) -> ApiKey:
    state.limiter.check(key.id, key.rate_limit or getattr(state.server.rate_limits, key.role.value))
    request.state.api_key = key  # for metrics and logs, and so the key is checked once per request
    return key


def _header_token(request: Request) -> str:
    token = (request.headers.get("x-api-key") or "").strip()
    if token:
        return token
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def authenticate(request: Request) -> ApiKey:
    """The key the request's headers prove, or a 401 (429 after too many failures)."""
    cached: ApiKey | None = getattr(request.state, "api_key", None)
    if cached is not None:
        return cached
    state = get_state(request)
    state.auth_failures.ensure_available(_client(request), AUTH_FAILURES_PER_MINUTE)
    token = _header_token(request)
    if not token:
        raise unauthorized("an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`")
    key = state.keys.authenticate(token)
    if key is None:
        raise _failed(request, state, "the API key is unknown or revoked")
    return _admit(request, state, key)


def current_key(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: ARG001 - documents the schemes
    header: str | None = Depends(_header),  # noqa: ARG001
) -> ApiKey:
    return authenticate(request)


def require(permission: Permission) -> Callable[..., ApiKey]:
    def _dep(key: ApiKey = Depends(current_key)) -> ApiKey:
        if not key.can(permission):
            raise forbidden(key, permission)
        return key

    _dep.__name__ = f"require_{permission.name.lower()}"
    return _dep


# ---------------------------------------------------------------------- streams
@dataclass(frozen=True)
class StreamAccess:
    """Who opened a stream, and the check that keeps it open."""

    key: ApiKey
    permission: Permission
    state: ServiceState

    def still_allowed(self) -> bool:
        key = self.state.keys.get(self.key.id)
        return key is not None and key.can(self.permission)

    async def guard(self, parts: AsyncIterator[bytes], every_s: float = STREAM_RECHECK_S) -> AsyncIterator[bytes]:
        """`parts`, ended as soon as the key is revoked (or loses the permission):
        checked every `every_s` even while the stream has nothing to send."""
        it = aiter(parts)
        pending: asyncio.Future[bytes] = asyncio.ensure_future(anext(it))
        checked = time.monotonic()
        try:
            while True:
                await asyncio.wait({pending}, timeout=max(0.0, checked + every_s - time.monotonic()))
                if time.monotonic() - checked >= every_s:
                    checked = time.monotonic()
                    if not await asyncio.to_thread(self.still_allowed):
                        return
                if pending.done():
                    try:
                        part = pending.result()
                    except StopAsyncIteration:
                        return
                    yield part
                    pending = asyncio.ensure_future(anext(it))
        finally:
            pending.cancel()  # runs the stream's own clean-up (unsubscribe, ...)


def stream_access(permission: Permission) -> Callable[..., StreamAccess]:
    """A header key, or a `ticket` from `POST /v1/stream-tickets` (spent on use)."""

    def _dep(
        request: Request,
        ticket: str | None = Query(None, max_length=200, description="a stream ticket (single use)"),
        bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: ARG001
        header: str | None = Depends(_header),  # noqa: ARG001
    ) -> StreamAccess:
        state = get_state(request)
        if ticket:
            state.auth_failures.ensure_available(_client(request), AUTH_FAILURES_PER_MINUTE)
            try:
                key_id = state.tickets.redeem(ticket)
            except ApiError as exc:
                raise _failed(request, state, str(exc)) from None
            key = state.keys.get(key_id)
            if key is None or key.revoked_at is not None:
                raise unauthorized("the API key is unknown or revoked")
            key = _admit(request, state, key)
        else:
            key = authenticate(request)
        if not key.can(permission):
            raise forbidden(key, permission)
        return StreamAccess(key, permission, state)

    return _dep


# ---------------------------------------------------------------------- routes
def _calls(dependant: Dependant, fn: Callable[..., Any]) -> bool:
    return dependant.call is fn or any(_calls(d, fn) for d in dependant.dependencies)


class AuthFirstRoute(APIRoute):
    """A route that authenticates before its body is read, and reads JSON bodies with
    bounded nesting (a 1,000-deep document is a 400 problem, never a RecursionError)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        needs_key = _calls(self.dependant, current_key)
        json_body = self.body_field is not None

        async def app(request: Request) -> Response:
            if needs_key:
                authenticate(request)
            if json_body and json_content_type(request):
                body = await request.body()
                if body:
                    try:
                        request._json = loads_bounded(body)  # noqa: SLF001 - FastAPI reads it via request.json()
                    except ValueError:
                        pass  # FastAPI reports invalid JSON itself, with its position
            return await handler(request)

        return app
