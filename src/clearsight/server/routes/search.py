"""1:N identification. Every search declares a purpose, only identities with a valid
consent for it can match, and the gallery audits each search with the calling key.
The response states the open-set operating point: mode, FPIR, N and the FNIR
expected at this N."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from ...errors import NoFaceError
from ...io import load_image
from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..inference import search_probe
from ..inputs import image_body_openapi, parse_image_request
from ..schemas import FaceMatches, MatchOut, OpenSetOut, SearchOut, SearchParams, face_out
from ..state import ServiceState

router = APIRouter(prefix="/v1", tags=["search"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)


@router.post(
    "/search",
    response_model=SearchOut,
    openapi_extra=image_body_openapi(SearchParams, ("image",), ("image",)),
)
async def search(
    request: Request, key: ApiKey = Depends(require(Permission.SEARCH)), state: ServiceState = Depends(get_state)
) -> SearchOut:
    """Who is in this photo? Ranked matches per face, each with a crop of the face searched."""
    params, images = await parse_image_request(request, SearchParams, ("image",), ("image",))

    def work() -> SearchOut:
        g = state.gallery
        opts = {"top_k": params.top_k, "group": params.group, "mode": params.mode, "fpir": params.fpir}
        point = OpenSetOut(**g.search_point(params.purpose, params.group, mode=params.mode, fpir=params.fpir).to_dict())
        probes = state.run_inference(search_probe, images, state.settings.images, all_faces=params.all_faces,
                                     max_faces=state.server.max_search_faces)
        if not probes:
            # let the gallery refuse it, so the attempt is audited like every search
            try:
                with state.inference():
                    g.search(load_image(images["image"], limits=state.settings.images), params.purpose,
                             actor=key.actor, **opts)
            except NoFaceError:
                if not params.all_faces:
                    raise
                return SearchOut(purpose=params.purpose, operating_point=params.operating_point, faces=[],
                                 open_set=point)
        out = []
        for t, crop in probes:
            hits = g.search(t.embedding, params.purpose, actor=key.actor, **opts)
            matches = [
                MatchOut(
                    identity_id=m.identity_id,
                    display_name=m.display_name,
                    similarity=round(float(m.similarity), 4),
                    match=m.is_match,
                    above_threshold=m.above_threshold,
                    operating_point=m.operating_point,
                    template_id=m.template_id,
                    templates=m.templates,
                )
                for m in hits
            ]
            out.append(FaceMatches(face=face_out(t.face, t.quality, crop), matches=matches))
        return SearchOut(purpose=params.purpose, operating_point=params.operating_point, faces=out, open_set=point)

    return await run_in_threadpool(work)
