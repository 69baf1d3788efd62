"""Request dependencies: the service state, the calling key, and its permission check."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from .auth import ApiKey, Permission, forbidden, unauthorized
from .state import ServiceState

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cs_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key in `X-API-Key`")


def get_state(request: Request) -> ServiceState:
    return request.app.state.clearsight


def current_key(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
    header: str | None = Depends(_header),
) -> ApiKey:
    token = (header or "").strip() or (bearer.credentials.strip() if bearer else "")
    if not token:
        raise unauthorized("an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`")
    state = get_state(request)
    key = state.keys.authenticate(token)
    if key is None:
        raise unauthorized("the API key is unknown or revoked")
    limit = key.rate_limit or getattr(state.server.rate_limits, key.role.value)
    state.limiter.check(key.id, limit)
    request.state.api_key = key  # for metrics and logs
    return key


def require(permission: Permission) -> Callable[..., ApiKey]:
    def _dep(key: ApiKey = Depends(current_key)) -> ApiKey:
        if not key.can(permission):
            raise forbidden(key, permission)
        return key

    _dep.__name__ = f"require_{permission.name.lower()}"
    return _dep
