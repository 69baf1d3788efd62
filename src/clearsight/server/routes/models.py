"""Model status: which weights are present and pass their checksum."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from ...models import status
from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, require
from ..errors import PROBLEM_RESPONSES
from ..schemas import ModelOut

router = APIRouter(prefix="/v1", tags=["models"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)


def _status() -> list[ModelOut]:
    # Read afresh each time: the service builds converted models on first use, and the
    # setup may finish after the service started. The registry caches each file's
    # checksum by its size and mtime, so only a changed file is hashed again.
    return [
        ModelOut(
            name=s.spec.name,
            task=s.spec.task,
            source=s.spec.source,
            kind=s.spec.kind,
            licence=s.spec.licence,
            sha256=s.spec.sha256,
            size=s.size,
            checksum_ok=s.checksum_ok,
            problem=s.problem or None,
            optional=s.spec.optional,
        )
        for s in status()
    ]


@router.get("/models", response_model=list[ModelOut])
async def list_models(key: ApiKey = Depends(require(Permission.MODELS_READ))) -> list[ModelOut]:
    """Every registered model: task, source package, licence, size and checksum status."""
    return await run_in_threadpool(_status)
