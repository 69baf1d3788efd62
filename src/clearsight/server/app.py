"""The FastAPI application: API under /v1, the console at /, docs at /docs, metrics.

`create_app` builds everything from a `Settings` so tests, the CLI and an ASGI
server (`uvicorn --factory clearsight.server.app:create_app`) get the same app.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from contextlib import asynccontextmanager
from importlib import resources
from typing import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..config import Settings, get_settings
from . import console
from .auth import redact_tickets_in_access_log
from .errors import install_error_handlers
from .limits import BodyLimitMiddleware
from .metrics import Metrics, MetricsMiddleware, metrics_endpoint
from .routes import discover
from ..settings import ServerSettings
from .state import ServiceState

log = logging.getLogger("clearsight.server")

DESCRIPTION = """\
Clearsight's face service: detection, verification, enrolment and search over a
consent-aware gallery, fully offline.

**Auth**: every `/v1` call needs an API key (`Authorization: Bearer cs_...` or
`X-API-Key`). Roles: `admin` (everything), `operator` (faces, identities, search),
`auditor` (audit log, identities read-only), `client` (detect, embed, verify).

**Images**: send `multipart/form-data` file fields, or `application/json` with the
image base64-encoded (a `data:` URL is fine).

**Errors**: always `application/problem+json` with a stable `code`.
"""


def create_app(settings: Settings | None = None, server: ServerSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    server = server or settings.server
    state = ServiceState(settings, server)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if server.warmup:
            state.start_warmup()
        await run_in_threadpool(state.start_cameras)
        try:
            yield
        finally:
            await run_in_threadpool(state.close)

    app = FastAPI(
        title="Clearsight",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.clearsight = state  # the one app-scoped object; routes get it with Depends(get_state)
    redact_tickets_in_access_log()
    install_error_handlers(app)
    for router in discover():
        app.include_router(router)

    metrics = Metrics()
    app.add_api_route("/metrics", metrics_endpoint(metrics, state), methods=["GET"], include_in_schema=False)
    _docs(app)
    console.mount(app)

    if server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=server.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=server.max_request_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def _with_csp(page: HTMLResponse) -> HTMLResponse:
    """The docs pages boot with one inline script: allow exactly that script (by hash),
    nothing else inline, nothing from another origin."""
    body = bytes(page.body)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()}'"
        for m in re.finditer(rb"<script>(.*?)</script>", body, re.S)
    )
    csp = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
    )
    return HTMLResponse(body, headers={"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
                                       "Referrer-Policy": "no-referrer"})


def _docs(app: FastAPI) -> None:
    """Swagger UI and ReDoc from files shipped in a Python package: no CDN, works offline."""
    try:
        static = resources.files("fastapi_offline").joinpath("static")
    except ModuleNotFoundError:
        log.info("fastapi-offline not installed: /docs unavailable offline; /openapi.json still is")
        return
    app.mount("/_docs", StaticFiles(directory=str(static)), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return _with_csp(get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Clearsight API",
            swagger_js_url="/_docs/swagger-ui-bundle.js",
            swagger_css_url="/_docs/swagger-ui.css",
            swagger_favicon_url="/_docs/favicon.png",
        ))

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _with_csp(get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Clearsight API",
            redoc_js_url="/_docs/redoc.standalone.js",
            redoc_favicon_url="/_docs/favicon.png",
            with_google_fonts=False,
        ))
