"""One module per resource; each exposes `router` (an APIRouter).

Modules are discovered, not listed: a feature area (effects, cameras, DMS) adds a
file here and its endpoints appear in the app and the OpenAPI document. A module
whose optional dependency is missing can set `router = None` to opt out.
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter

from ..deps import AuthFirstRoute


def discover() -> list[APIRouter]:
    routers = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            if router.route_class is not AuthFirstRoute:  # authentication before body parsing, everywhere
                raise TypeError(f"{module.__name__}: make its router with route_class=AuthFirstRoute")
            routers.append(router)
    return routers
