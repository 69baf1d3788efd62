"""Retail analytics: footfall, dwell, heatmaps, queues and a daily report, without identities.

Everything here works on anonymous person tracks: no face is recognised, no
attribute (age, gender, ethnicity) is ever estimated, and a camera that would
expose faces is refused (`policy.check_face_free`). Importing the package
registers the `retail` analyser (camera file: `analysers: {retail: {...}}`).
"""

from __future__ import annotations

from .analyser import DWELL, EMITS, FOOTFALL, FOOTFALL_PERIOD, HEATMAP, QUEUE, RetailAnalyser
from .policy import FaceFreeError, check_face_free
from .settings import RetailConfig

__all__ = ["DWELL", "EMITS", "FOOTFALL", "FOOTFALL_PERIOD", "HEATMAP", "QUEUE", "FaceFreeError", "RetailAnalyser",
           "RetailConfig", "check_face_free"]
