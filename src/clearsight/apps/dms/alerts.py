"""Alert rules: state snapshots in, `clearsight.types.Event`s out.

Each rule fires once per episode, at the first frame whose timestamp reaches the
threshold (so an alert is late by at most one frame interval plus the signal's
own latency), and carries the episode's start time so a consumer can see exactly
what triggered it. Event types:

dms.microsleep  eye closure >= microsleep_s (level "microsleep"), again at sleep_s ("sleep")
dms.drowsy      PERCLOS over the last minute >= perclos_drowsy (then a cool-down)
dms.distracted  one glance away >= long_glance_s ("long_glance"), or cumulative
                glances away > cumulative_s within cumulative_window_s ("cumulative")
dms.yawn        mouth open like a yawn for >= yawn_min_s
dms.absent      no usable face for >= absent_s, with the reason (no_face,
                camera_blocked, too_dark)
dms.agitated    agitation index >= agitation_threshold for >= agitation_min_s
"""

from __future__ import annotations

from typing import Any

from ...types import Event
from .agitation import Agitation
from ...settings import DmsSettings
from .state import StateSnapshot

EVENT_TYPES = ("dms.drowsy", "dms.microsleep", "dms.distracted", "dms.yawn", "dms.absent", "dms.agitated")


class AlertEngine:
    def __init__(self, settings: DmsSettings | None = None, camera: str = "cabin") -> None:
        self.s = settings or DmsSettings()
        self.camera = camera
        self._fired: set[tuple[str, Any]] = set()
        self._last: dict[str, float] = {}
        self._cumulative_armed = True
        self._agitated_since: float | None = None

    def _event(self, etype: str, t: float, **data: Any) -> Event:
        self._last[etype] = t
        return Event(type=etype, camera=self.camera, time=t, data={k: (round(v, 3) if isinstance(v, float) else v) for k, v in data.items()})

    def _once(self, key: tuple[str, Any]) -> bool:
        if key in self._fired:
            return False
        self._fired.add(key)
        return True

    def update(self, st: StateSnapshot, agitation: Agitation | None = None) -> list[Event]:
        s, t, out = self.s, st.time, []
        # eye closure: yawning squints are not sleep
        if st.closure_start is not None and not st.yawning:
            if st.closure_s >= s.microsleep_s and self._once(("microsleep", st.closure_start)):
                out.append(self._event("dms.microsleep", t, level="microsleep", closure_s=st.closure_s, since=st.closure_start))
            if st.closure_s >= s.sleep_s and self._once(("sleep", st.closure_start)):
                out.append(self._event("dms.microsleep", t, level="sleep", closure_s=st.closure_s, since=st.closure_start))
        # PERCLOS
        if st.perclos is not None and st.perclos >= s.perclos_drowsy:
            last = self._last.get("dms.drowsy")
            if last is None or t - last >= s.drowsy_cooldown_s:
                out.append(self._event("dms.drowsy", t, perclos=st.perclos, window_s=s.perclos_window_s, threshold=s.perclos_drowsy))
        # distraction (only once the driver's straight-ahead is known)
        if st.calibrated:
            if st.off_road_start is not None and st.off_road_s >= s.long_glance_s and self._once(("glance", st.off_road_start)):
                out.append(self._event("dms.distracted", t, kind="long_glance", glance_s=st.off_road_s, since=st.off_road_start))
            if st.cumulative_off_road_s > s.cumulative_s + 1e-9:
                if self._cumulative_armed:
                    self._cumulative_armed = False
                    out.append(
                        self._event("dms.distracted", t, kind="cumulative", cumulative_s=st.cumulative_off_road_s, window_s=s.cumulative_window_s)
                    )
            elif st.cumulative_off_road_s < s.cumulative_s * 0.5:
                self._cumulative_armed = True  # re-arm once the driver has mostly looked back at the road
        # yawns
        if st.yawn_start is not None and st.yawn_s >= s.yawn_min_s and self._once(("yawn", st.yawn_start)):
            out.append(self._event("dms.yawn", t, yawn_s=st.yawn_s, since=st.yawn_start, count=st.yawns))
        # absence
        if st.absent_start is not None and st.absent_s >= s.absent_s and self._once(("absent", st.absent_start)):
            out.append(self._event("dms.absent", t, reason=st.absent_reason, absent_s=st.absent_s, since=st.absent_start))
        # agitation
        if agitation is not None and st.face_present and agitation.index >= s.agitation_threshold:
            if self._agitated_since is None:
                self._agitated_since = t
            last = self._last.get("dms.agitated")
            if t - self._agitated_since >= s.agitation_min_s and (last is None or t - last >= s.agitation_cooldown_s):
                out.append(self._event("dms.agitated", t, index=agitation.index, since=self._agitated_since, **{f"cue_{k}": v for k, v in agitation.to_dict().items() if k != "index"}))
        else:
            self._agitated_since = None
        return out
