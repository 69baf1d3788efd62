"""Face analysis without the gallery: detect, embed, verify two photos (or one photo
against an enrolled identity, which is identification-adjacent and therefore audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from ...errors import InputError
from ...face.verification import verify_gated
from ...io import load_image
from ..auth import ApiKey, Permission, forbidden
from ..deps import AuthFirstRoute, current_key, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..inference import verify_templates
from ..inputs import image_body_openapi, parse_image_request
from ..schemas import (
    DetectOut,
    DetectParams,
    EmbedOut,
    EmbedParams,
    VerifyOut,
    VerifyParams,
    face_crop,
    face_out,
)
from ..state import ServiceState

router = APIRouter(prefix="/v1", tags=["faces"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)


@router.post(
    "/detect",
    response_model=DetectOut,
    openapi_extra=image_body_openapi(DetectParams, ("image",), ("image",)),
)
async def detect(
    request: Request, key: ApiKey = Depends(require(Permission.ANALYZE)), state: ServiceState = Depends(get_state)
) -> DetectOut:
    """Every face in the image, best first: box, score, five landmarks (+ quality, crops)."""
    params, images = await parse_image_request(request, DetectParams, ("image",), ("image",))

    def work() -> DetectOut:
        rgb = load_image(images["image"])
        with state.compute() as pipe:
            faces = pipe.detect(rgb, mesh=params.mesh)
        out = []
        for f in faces:
            q = pipe.quality(rgb, f) if params.quality else None
            out.append(face_out(f, q, face_crop(rgb, f) if params.crops else None))
        return DetectOut(width=rgb.shape[1], height=rgb.shape[0], faces=out)

    return await run_in_threadpool(work)


@router.post(
    "/embed",
    response_model=EmbedOut,
    openapi_extra=image_body_openapi(EmbedParams, ("image",), ("image",)),
)
async def embed(
    request: Request, key: ApiKey = Depends(require(Permission.ANALYZE)), state: ServiceState = Depends(get_state)
) -> EmbedOut:
    """The template of the largest face (L2-normalised) and the model that made it."""
    _, images = await parse_image_request(request, EmbedParams, ("image",), ("image",))

    def work() -> EmbedOut:
        rgb = load_image(images["image"])
        with state.compute() as pipe:
            t = pipe.primary_template(rgb)
        return EmbedOut(
            model=t.embedding.model,
            dim=t.embedding.dim,
            vector=[round(float(v), 6) for v in t.embedding.vector],
            face=face_out(t.face, t.quality),
        )

    return await run_in_threadpool(work)


@router.post(
    "/verify",
    response_model=VerifyOut,
    openapi_extra=image_body_openapi(VerifyParams, ("image_a", "image_b"), ("image_a",)),
)
async def verify(
    request: Request, key: ApiKey = Depends(current_key), state: ServiceState = Depends(get_state)
) -> VerifyOut:
    """Same person? `image_a` vs `image_b`, or `image_a` vs enrolled `identity_id` (with a purpose).

    The decision uses a calibrated operating point (strict / balanced / lenient =
    false-match rate 1e-4 / 1e-3 / 1e-2), never a raw threshold, behind the quality
    gate: a face that fails it makes the answer `inconclusive` with `reasons`.
    `id_photo`: image_b is a document portrait (ID-photo gate, cross-quality threshold)."""
    if not (key.can(Permission.ANALYZE) or key.can(Permission.VERIFY_IDENTITY)):
        raise forbidden(key, Permission.ANALYZE)  # before reading a byte of the body
    params, images = await parse_image_request(request, VerifyParams, ("image_a", "image_b"), ("image_a",))
    if params.identity_id is None:
        if not key.can(Permission.ANALYZE):
            raise forbidden(key, Permission.ANALYZE)
        if "image_b" not in images:
            raise InputError("image_b: send a second image, or an identity_id to compare against")
    else:
        if not key.can(Permission.VERIFY_IDENTITY):
            raise forbidden(key, Permission.VERIFY_IDENTITY)
        if params.purpose is None:
            raise InputError("purpose: verifying against an enrolled identity needs a purpose (it is audited)")
        if "image_b" in images:
            raise InputError("send either image_b or identity_id, not both")

    def work() -> VerifyOut:
        photos = {"image_a": images["image_a"]}
        if params.identity_id is None:
            photos["image_b"] = images["image_b"]
        found = state.run_inference(verify_templates, photos, state.settings.images)
        ta = found["image_a"]
        if params.identity_id is None:
            tb = found["image_b"]
            v = verify_gated(ta.embedding, ta.quality, tb.embedding, tb.quality, params.operating_point,
                             id_photo=params.id_photo, settings=state.settings.face)
            return VerifyOut(**v.to_dict(), face_a=face_out(ta.face, ta.quality), face_b=face_out(tb.face, tb.quality))
        if params.id_photo:
            raise InputError("id_photo: applies to image_b (a document portrait), not to an enrolled identity")
        result = _verify_identity(state, key, params, ta.embedding, ta.quality)
        return VerifyOut(**result, face_a=face_out(ta.face, ta.quality))

    return await run_in_threadpool(work)


def _verify_identity(state: ServiceState, key: ApiKey, params: VerifyParams, emb: Any, quality: Any) -> dict:
    """1:1 against an enrolled identity: the gallery checks the consent for the purpose,
    compares with that identity's own templates and audits the call with this key."""
    v = state.gallery.verify(params.identity_id, emb, params.purpose, actor=key.actor,
                             operating_point=params.operating_point, quality=quality)
    d = v.to_dict()
    d.pop("template_id")  # the response schema names the identity, not which of its templates won
    return d
