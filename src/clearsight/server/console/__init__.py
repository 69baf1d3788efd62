"""The web console: one HTML page and a small vanilla-JS app over the same /v1 API.

No build step and no CDN: the files ship in the package, so the console works on
an offline machine exactly as tested. The API key lives in the tab's
sessionStorage (gone when the tab closes), never in a cookie, so the API needs no
CSRF defence.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from ... import __version__

_HERE = resources.files(__name__)


# Same-origin scripts and styles only; camera frames and snapshots as data:/blob: images.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class _ConsoleFiles(StaticFiles):
    """The console's files; its stand-alone pages (dms.html, effects.html) carry the
    same security headers as the console itself."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if path.endswith(".html"):
            response.headers.update(SECURITY_HEADERS)
        return response


def mount(app: FastAPI) -> None:
    app.mount("/console/static", _ConsoleFiles(directory=str(_HERE.joinpath("static"))), name="console-static")
    # Pages added by feature areas: static/pages/*.js, each registering itself.
    pages_dir = _HERE.joinpath("static", "pages")
    extra = sorted(p.name for p in pages_dir.iterdir() if p.name.endswith(".js")) if pages_dir.is_dir() else []
    scripts = "\n".join(f'  <script src="/console/static/pages/{n}?v={__version__}" defer></script>' for n in extra)
    page = _HERE.joinpath("index.html").read_text().replace("{{page_scripts}}", scripts).replace("{{version}}", __version__)

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(page, headers=SECURITY_HEADERS)
