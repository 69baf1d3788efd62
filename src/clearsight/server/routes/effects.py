"""Effects over HTTP: `POST /v1/effects` returns the image with the chosen effects
as JPEG; `GET /v1/effects/catalogue` lists presets, controls and stickers.

Photos are processed afresh each call. A live stream (the console's webcam page)
passes a `session` id: its pipeline is kept between calls (in the service's session
pool) so the face mesh tracks instead of re-detecting and landmarks are smoothed
over time, which is what keeps stickers from jittering. Sessions are per API key,
few (the least recently used one is closed for a new one), and expire.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ...apps.effects.errors import EffectConfigError
from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..inputs import image_body_openapi, parse_image_request
from ..state import EffectsSession, ServiceState

router = APIRouter(prefix="/v1", tags=["effects"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)


class EffectsParams(BaseModel):
    preset: str = Field("none", max_length=40, description="none | natural | glam | cartoon | party | bunny | stream | slim-stream")
    params: dict[str, float | str] | str | None = Field(
        None, description='overrides, e.g. {"eye_enlarge": 0.4, "stickers": "sunglasses"} (a JSON string in multipart forms)'
    )
    session: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="keep tracking state between frames of one stream")
    t: float | None = Field(None, ge=0, description="the frame's time in seconds (streams: drives smoothing and animation)")
    quality: int = Field(85, ge=40, le=95, description="JPEG quality of the result")


def _overrides(p: EffectsParams) -> dict[str, Any]:
    if p.params is None or p.params == "":
        return {}
    if isinstance(p.params, str):
        try:
            value = json.loads(p.params)
        except ValueError:
            raise EffectConfigError("params must be a JSON object") from None
        if not isinstance(value, dict):
            raise EffectConfigError("params must be a JSON object")
        return value
    return dict(p.params)


@router.post(
    "/effects",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "the image with the effects applied"}},
    openapi_extra=image_body_openapi(EffectsParams, ("image",), ("image",)),
)
async def effects(request: Request, key: ApiKey = Depends(require(Permission.ANALYZE)),
                  state: ServiceState = Depends(get_state)) -> Response:
    """Apply face/body effects (stickers, beautification, reshaping, background) to one image.

    Effects are off unless chosen: `preset` picks a starting point and `params`
    overrides single controls. Nothing is stored.
    """
    p, images = await parse_image_request(request, EffectsParams, ("image",), ("image",))
    overrides = _overrides(p)

    def work() -> bytes:
        from ...apps.effects.pipeline import apply_effects_to_image
        from ...io import decode_bytes, encode_jpeg

        if not p.session:
            return apply_effects_to_image(images["image"], p.preset, overrides, quality=p.quality)
        from ...apps.effects.pipeline import build

        signature = json.dumps([p.preset, overrides], sort_keys=True)
        session = state.effects_sessions.get_or_create(
            key.id, p.session,
            build=lambda: EffectsSession(build(p.preset, overrides, video=True, max_faces=2), signature),
            keep=lambda fx: fx.signature == signature,
        )
        rgb = decode_bytes(images["image"])
        with session.lock:
            out = session.value.effects.apply(rgb, t=p.t)
        return encode_jpeg(out, quality=p.quality)

    jpeg = await run_in_threadpool(work)
    return Response(content=jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


class CatalogueOut(BaseModel):
    presets: dict[str, dict[str, float | str]]
    face_controls: list[str]
    body_controls: list[str]
    stickers: list[str]
    backgrounds: list[str]


@router.get("/effects/catalogue", response_model=CatalogueOut)
def catalogue(key: ApiKey = Depends(require(Permission.ANALYZE))) -> CatalogueOut:
    """What can be chosen: presets and their values, controls (face 0..1, body -1..1), stickers."""
    from ...apps.effects.background import BACKGROUND_MODES
    from ...apps.effects.beauty import BEAUTY_PARAMS
    from ...apps.effects.body import BODY_PARAMS
    from ...apps.effects.pipeline import PRESETS
    from ...apps.effects.stickers import available

    return CatalogueOut(
        presets=PRESETS,
        face_controls=list(BEAUTY_PARAMS),
        body_controls=list(BODY_PARAMS),
        stickers=available(),
        backgrounds=list(BACKGROUND_MODES),
    )
