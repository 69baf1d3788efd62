"""`DriverMonitor`: feed (frame, timestamp), get signals, state and events.

The Python API every interface (CLI, service page) uses. One monitor follows one
driver in one camera; it is not thread-safe (a camera's frames arrive in order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import InputError
from ...types import Event
from .agitation import Agitation, AgitationMeter, ExpressionFn, optional_expression_model
from .alerts import AlertEngine
from ...settings import DmsSettings
from .signals import FrameSignals, SignalExtractor
from .state import Calibration, DriverState, StateSnapshot


def _configured_settings() -> DmsSettings:
    from ...config import get_settings

    return get_settings().dms


class FrameError(InputError):
    code = "dms_bad_frame"


@dataclass(frozen=True)
class MonitorResult:
    signals: FrameSignals
    state: StateSnapshot
    agitation: Agitation
    events: list[Event] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "signals": self.signals.to_dict(),
            "state": self.state.to_dict(),
            "agitation": self.agitation.to_dict(),
            "events": [{"type": e.type, "time": round(e.time, 4), "data": e.data} for e in self.events],
        }


class DriverMonitor:
    """Driver monitoring on a stream of RGB frames with timestamps in seconds.

    >>> mon = DriverMonitor()
    >>> r = mon.feed(rgb, t)          # doctest: +SKIP
    >>> r.state.perclos, r.events     # doctest: +SKIP
    """

    def __init__(
        self,
        settings: DmsSettings | None = None,
        camera: str = "cabin",
        calibration: Calibration | None = None,
        expression: ExpressionFn | None = None,
        eye_model: bool = True,
        static: bool = False,
        snapshots: bool = False,
    ) -> None:
        self.settings = settings or _configured_settings()
        s = self.settings
        self.extractor = SignalExtractor(static=static, dark_below=s.dark_below, blocked_contrast_below=s.blocked_contrast_below, eye_model=eye_model)
        self.state = DriverState(s, calibration)
        self.alerts = AlertEngine(s, camera)
        self.agitation = AgitationMeter(s, expression if expression is not None else optional_expression_model())
        self._last_t: float | None = None
        # a JPEG of the triggering frame on each event, for the console and sinks
        self._snapshots = snapshots

    def feed(self, rgb: np.ndarray, timestamp: float) -> MonitorResult:
        if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise FrameError(f"expected an RGB uint8 frame (H, W, 3), got {getattr(rgb, 'shape', type(rgb))}")
        t = float(timestamp)
        if not np.isfinite(t):
            raise FrameError(f"timestamp must be a finite number of seconds, got {timestamp!r}")
        if self._last_t is not None and t < self._last_t:
            raise FrameError(f"timestamps must not go backwards: {t} after {self._last_t}")
        self._last_t = t
        sig = self.extractor.extract(np.ascontiguousarray(rgb), t)
        st = self.state.update(sig)
        ag = self.agitation.update(sig, st.blinks_per_min, rgb)
        events = self.alerts.update(st, ag)
        if events and self._snapshots:
            from dataclasses import replace

            from ...io import encode_jpeg

            jpeg = encode_jpeg(rgb, quality=80)
            events = [replace(e, snapshot_jpeg=jpeg) for e in events]
        return MonitorResult(sig, st, ag, events)

    @property
    def calibration(self) -> Calibration:
        return self.state.calibration

    def recalibrate(self) -> None:
        self.state.recalibrate()

    def close(self) -> None:
        self.extractor.close()

    def __enter__(self) -> DriverMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
