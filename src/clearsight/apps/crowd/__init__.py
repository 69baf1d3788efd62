"""Crowds: people per zone over time (sparse to dense), flow and counter-flow, and incidents
(stationary clusters, gatherings forming and dispersing, running, overcrowded zones).

The counting core (detector, density map, fusion) lives below, in
`clearsight.vision.crowd`, shared with `clearsight count` and the Python API; this
app adds time: tracks, optical flow and the incident state machines, as the
analyser `crowd` of a camera file::

    analysers:
      crowd:
        capacities: [{zone: hall, capacity: 40}]
        cluster: {min_people: 4, radius: 120, min_duration_s: 10}
"""

from __future__ import annotations

from ...stream.analysers import PluginContext, register_analyser
from .analyser import CrowdAnalyser
from .incidents import COUNT, COUNTER_FLOW, DISPERSED, FLOW, FORMED, OVERCROWDED, RUNNING, STATIONARY_CLUSTER
from .settings import CrowdSettings

EMITS: dict[str, str] = {
    COUNT: "people in a zone, every count.every_s (method detector, density or fused)",
    FLOW: "dominant direction and speed of a zone's movement, every flow.every_s",
    COUNTER_FLOW: "a share of a zone's people moves against its dominant direction",
    STATIONARY_CLUSTER: "at least K people within a radius stay nearly still for at least T seconds",
    FORMED: "at least K people gathered within a radius (moving or not)",
    DISPERSED: "a gathering reported by crowd.formed broke up",
    RUNNING: "a zone's people suddenly move much faster than before (running)",
    OVERCROWDED: "a zone holds more people than its capacity",
}


def _crowd(settings: CrowdSettings, ctx: PluginContext) -> CrowdAnalyser:
    return CrowdAnalyser(settings, ctx)


register_analyser("crowd", _crowd, CrowdSettings, emits=EMITS,
                  description="Crowd counts per zone, flow, counter-flow, stationary clusters, running, overcrowding.")

__all__ = ["EMITS", "CrowdAnalyser", "CrowdSettings"]
