"""The REST service and web console (FastAPI): `create_app()`, served by `clearsight serve`."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
