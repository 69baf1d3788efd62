"""On-screen overlay: eye state, PERCLOS, gaze, off-road time and recent alerts.

Drawn on a copy of the RGB frame; a panel on the left so the face stays visible.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ...types import Event
from .monitor import MonitorResult
from .signals import EYES

_GREEN, _RED, _AMBER, _WHITE = (46, 204, 113), (231, 76, 60), (243, 156, 18), (240, 240, 240)


def _text(img: np.ndarray, s: str, y: int, color=_WHITE, scale: float = 0.45) -> int:
    cv2.putText(img, s, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, s, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)
    return y + int(22 * scale / 0.45)


def draw_overlay(rgb: np.ndarray, r: MonitorResult, recent: Sequence[Event] = ()) -> np.ndarray:
    out = np.ascontiguousarray(rgb.copy())
    sig, st = r.signals, r.state
    if sig.mesh is not None:
        pts = sig.mesh.xy()
        for side in EYES.values():
            ring = [side["corners"][0], *side["lower"], side["corners"][1], *reversed(side["upper"])]
            poly = np.round(pts[ring]).astype(np.int32)
            cv2.polylines(out, [poly], True, _RED if st.eyes_closed else _GREEN, 1, cv2.LINE_AA)
            ix, iy = pts[side["iris"][0]]
            cv2.circle(out, (int(round(ix)), int(round(iy))), 2, _AMBER, -1)
        if sig.gaze is not None and st.gaze_offset is not None:
            nose = pts[1]
            dx, dy = st.gaze_offset
            tip = (int(nose[0] + 2.0 * dx), int(nose[1] - 2.0 * dy))
            cv2.arrowedLine(out, (int(nose[0]), int(nose[1])), tip, _RED if st.off_road else _GREEN, 2, cv2.LINE_AA, tipLength=0.2)
    y = 20
    if not st.face_present:
        y = _text(out, f"NO DRIVER ({st.absent_reason}) {st.absent_s:.1f}s", y, _RED)
    else:
        eye = "CLOSED" if st.eyes_closed else "open"
        y = _text(out, f"eyes {eye} {st.openness_ratio or 0:.2f}  closure {st.closure_s:.1f}s", y, _RED if st.eyes_closed else _GREEN)
        y = _text(out, "PERCLOS " + ("warming up %.0fs" % st.perclos_coverage_s if st.perclos is None else f"{st.perclos:.0%}"), y)
        if st.gaze_offset is not None:
            y = _text(out, f"gaze {st.gaze_offset[0]:+.0f}/{st.gaze_offset[1]:+.0f} deg  {'OFF ROAD' if st.off_road else 'road'}", y, _RED if st.off_road else _GREEN)
        y = _text(out, f"off-road {st.off_road_s:.1f}s  cum {st.cumulative_off_road_s:.1f}s/30s", y)
        y = _text(out, f"blinks/min {st.blinks_per_min or 0:.0f}  yawns {st.yawns}  agitation {r.agitation.index:.2f}", y)
        if not st.calibrated:
            y = _text(out, "calibrating: look at the road", y, _AMBER)
    for e in list(recent)[-3:]:
        detail = e.data.get("level") or e.data.get("kind") or e.data.get("reason") or ""
        y = _text(out, f"ALERT {e.type} {detail} @{e.time:.1f}s", y, _RED, 0.5)
    return out
