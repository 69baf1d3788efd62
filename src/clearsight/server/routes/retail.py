"""The daily retail report: footfall per hour, dwell distributions, queues and the day's heatmap.

`GET /v1/retail/report?date=YYYY-MM-DD[&camera=][&tz_offset_min=]` (JSON) and
`GET /v1/retail/report.csv?date=...&part=footfall|dwell|queue` (CSV download);
`GET /v1/retail/heatmap.png?date=...&camera=...` renders the day's occupancy grid.
All computed from the stored events (`events:read`), so they cover any past day
the retention keeps; nothing in them identifies anyone.
"""

from __future__ import annotations

from datetime import date as Date
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ...apps.retail.analyser import DWELL, FOOTFALL, HEATMAP, QUEUE
from ...apps.retail.heatmap import heatmap_png
from ...apps.retail.report import daily_report, day_bounds, report_csv
from ...errors import InputError
from ..auth import ApiKey, Permission
from ..deps import AuthFirstRoute, get_state, require
from ..errors import PROBLEM_RESPONSES
from ..state import ServiceState

router = APIRouter(prefix="/v1/retail", tags=["retail"], responses=PROBLEM_RESPONSES, route_class=AuthFirstRoute)

PAGE = 5000
MAX_EVENTS = 500_000  # a day of one busy store is well under this; more is refused, not truncated silently


class NoHeatmapError(InputError):
    code = "heatmap_not_found"
    http_status = 404


class ReportTooLargeError(InputError):
    code = "report_too_large"
    http_status = 413


def _events(state: ServiceState, camera: str | None, since: float, until: float) -> list[dict[str, Any]]:
    store = state.cameras.events
    rows: list[dict[str, Any]] = []
    for etype in (FOOTFALL, DWELL, QUEUE, HEATMAP):
        if store.count(camera=camera, type=etype, since=since, until=until) > MAX_EVENTS:
            raise ReportTooLargeError(f"more than {MAX_EVENTS} {etype} events that day; ask for one camera")
        offset = 0
        while True:
            page = store.query(camera=camera, type=etype, since=since, until=until, offset=offset, limit=PAGE,
                               newest_first=False)
            rows += page
            if len(page) < PAGE:
                break
            offset += PAGE
    return rows


DateQ = Query(..., description="The calendar day, YYYY-MM-DD")
CameraQ = Query(None, min_length=1, max_length=100, description="Only this camera; default: every retail camera")
TzQ = Query(0, ge=-840, le=840, description="The day's UTC offset in minutes (e.g. 60 for UTC+1)")


def _report(state: ServiceState, date: Date, camera: str | None, tz_offset_min: int) -> dict[str, Any]:
    since, until = day_bounds(date, tz_offset_min)
    return daily_report(_events(state, camera, since, until), date, tz_offset_min)


@router.get("/report")
def retail_report(
    date: Date = DateQ, camera: str | None = CameraQ, tz_offset_min: int = TzQ,
    _: ApiKey = Depends(require(Permission.EVENTS_READ)), state: ServiceState = Depends(get_state),
) -> dict[str, Any]:
    """Footfall per hour and entrance line (in/out), dwell-time histograms per zone, queue
    length and estimated wait per hour, and the day's summed occupancy heatmap per camera."""
    return _report(state, date, camera, tz_offset_min)


@router.get("/report.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "one part of the daily report"}})
def retail_report_csv(
    date: Date = DateQ, part: Literal["footfall", "dwell", "queue"] = Query("footfall"), camera: str | None = CameraQ,
    tz_offset_min: int = TzQ, _: ApiKey = Depends(require(Permission.EVENTS_READ)),
    state: ServiceState = Depends(get_state),
) -> Response:
    body = report_csv(_report(state, date, camera, tz_offset_min), part)
    name = f"retail-{part}-{date.isoformat()}{'-' + camera if camera else ''}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/heatmap.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}, "description": "the day's occupancy heatmap"}})
def retail_heatmap_png(
    date: Date = DateQ, camera: str = Query(..., min_length=1, max_length=100), tz_offset_min: int = TzQ,
    _: ApiKey = Depends(require(Permission.EVENTS_READ)), state: ServiceState = Depends(get_state),
) -> Response:
    """A colour map of the grid only (never a camera frame): where people were, not who."""
    rep = _report(state, date, camera, tz_offset_min)
    if not rep["heatmaps"]:
        raise NoHeatmapError(f"no heatmap events for camera {camera!r} on {date.isoformat()}")
    h = rep["heatmaps"][0]
    frame = h["frame"] or [640, 480]
    return Response(heatmap_png(np.asarray(h["grid"]), (int(frame[0]), int(frame[1]))), media_type="image/png")
