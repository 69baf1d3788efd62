"""The REST service and web console (FastAPI): `create_app()`, served by `clearsight serve`.

`create_app` is imported lazily so `import clearsight.server` does not pull in FastAPI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
