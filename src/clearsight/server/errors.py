"""Every error the service returns is RFC 9457 problem+json with a stable `code`.

Clients branch on `code` (the same codes the library raises), people read `detail`.
Nothing internal leaks: unexpected exceptions become a bare 500 with a request id
that matches the server log line, never a traceback or a class name.
"""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import ClearsightError

log = logging.getLogger("clearsight.server")

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """The error body (RFC 9457)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    code: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
    reasons: list[str] | None = None  # e.g. why the quality gate refused a face


class ApiError(ClearsightError):
    """An HTTP-level refusal raised by the service itself (auth, limits, routing)."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.http_status = status
        self.code = code
        self.headers = headers or {}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    request: Request | None,
    status: int,
    code: str,
    detail: str | None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    reasons: list[str] | None = None,
) -> JSONResponse:
    body = Problem(
        title=_title(status),
        status=status,
        detail=detail,
        code=code,
        instance=str(request.url.path) if request is not None else None,
        errors=errors,
        reasons=reasons,
    ).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


# One response schema for the OpenAPI document, so clients and schemathesis know
# every documented error is a problem.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": _title(status)}
    for status in (400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503)
}


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _clean_validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Location, message and type of each error; never the offending input itself
    (it may be a megabyte of base64, or a secret)."""
    out = []
    for err in exc.errors():
        out.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", "invalid value")),
                "type": str(err.get("type", "value_error")),
            }
        )
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ClearsightError)
    async def _clearsight(request: Request, exc: ClearsightError) -> JSONResponse:
        status = int(getattr(exc, "http_status", 500) or 500)
        if status >= 500 and not isinstance(exc, ApiError):
            log.warning("%s on %s: %s", exc.code, request.url.path, exc)
        detail = str(exc) or _title(status)
        if status == 500:
            detail = "internal error"
        reasons = getattr(exc, "reasons", None)
        return problem_response(
            request,
            status,
            exc.code,
            detail,
            headers=getattr(exc, "headers", None),
            reasons=[str(r) for r in reasons] if reasons else None,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else _title(exc.status_code)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such resource: {request.url.path}"
        if exc.status_code == 405:
            detail = f"method {request.method} not allowed on {request.url.path}"
        return problem_response(request, exc.status_code, code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_validation_errors(exc)
        first = errors[0] if errors else None
        detail = (
            f"{'.'.join(p for p in first['loc'] if p not in ('body', 'query', 'path'))}: {first['msg']}"
            if first
            else "invalid request"
        )
        return problem_response(request, 422, "invalid_request", detail, errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", rid, request.method, request.url.path)
        return problem_response(request, 500, "internal_error", f"internal error (request id {rid})")
