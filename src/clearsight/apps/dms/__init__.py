"""Driver monitoring: drowsiness, eyes off the road, yawning and agitation from a cabin camera.

Python API: `DriverMonitor().feed(rgb, timestamp)` -> `MonitorResult` (signals,
state, agitation, events). CLI: `clearsight dms --input webcam|FILE`. Thresholds:
`DmsSettings` (Euro NCAP defaults, sources in `settings.py`).
"""

from .alerts import EVENT_TYPES, AlertEngine
from .monitor import DriverMonitor, MonitorResult
from ...settings import DmsSettings
from .state import Calibration, DriverState, StateSnapshot

__all__ = ["EVENT_TYPES", "AlertEngine", "Calibration", "DmsSettings", "DriverMonitor", "DriverState", "MonitorResult", "StateSnapshot"]
