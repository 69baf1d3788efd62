"""Traffic: counts per class, speeds from a ground-plane calibration, incidents per zone, and a
forward-collision warning for dash cameras.

Two analysers, registered here under their camera-file sections:

- `traffic` (`TrafficAnalyser`, fixed cameras: intersections, car parks, roads):
  `traffic.crossing` / `traffic.count` per class, `vehicle.speed`, and the incidents the
  administrator sets per zone (`vehicle.stopped`, `vehicle.wrong_way`,
  `vehicle.speeding`, `traffic.congestion`, `pedestrian.in_roadway`);
- `forward_collision` (`ForwardCollisionAnalyser`, a camera looking ahead from a
  vehicle): `vehicle.forward_collision` from time to collision by box growth.

See docs/traffic.md for the settings and the measured accuracy.
"""

from __future__ import annotations

from ...stream.analysers import PluginContext, register_analyser
from . import collision, incidents
from .config import ForwardCollisionConfig, TrafficConfig
from .collision import ForwardCollisionAnalyser, time_to_collision
from .incidents import TrafficAnalyser


def _traffic(config: TrafficConfig, ctx: PluginContext) -> TrafficAnalyser:
    return TrafficAnalyser(config, ctx)


def _forward_collision(config: ForwardCollisionConfig, ctx: PluginContext) -> ForwardCollisionAnalyser:
    return ForwardCollisionAnalyser(config, ctx)


register_analyser("traffic", _traffic, TrafficConfig, emits=incidents.EMITS,
                  description="Per-class line counts, speeds and zone incidents (stopped, wrong way, speeding, "
                  "congestion, pedestrians in the roadway).")
register_analyser("forward_collision", _forward_collision, ForwardCollisionConfig, emits=collision.EMITS,
                  description="Forward-collision warning from time to collision (box growth) for a forward camera.")


__all__ = ["ForwardCollisionAnalyser", "ForwardCollisionConfig", "TrafficAnalyser", "TrafficConfig",
           "time_to_collision"]
