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

_cache: dict[str, list[ModelOut]] = {}


def _status() -> list[ModelOut]:
    # Hashing every weight file costs seconds; the files only change when the
    # software does, so one check per process is the honest answer.
    if "rows" not in _cache:
        _cache["rows"] = [
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
    return _cache["rows"]


@router.get("/models", response_model=list[ModelOut])
async def list_models(key: ApiKey = Depends(require(Permission.MODELS_READ))) -> list[ModelOut]:
    """Every registered model: task, source package, licence, size and checksum status."""
    return await run_in_threadpool(_status)
