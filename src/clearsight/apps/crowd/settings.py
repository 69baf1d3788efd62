"""What an administrator sets for crowd analysis in a camera file (`analysers: {crowd: {...}}`).

Distances are in pixels of the camera image and speeds in person heights per
second: a camera has no metric calibration here, and a person's box height is the
one ruler every frame carries (walking is ~0.8 heights/s, running above ~1.5),
so one speed threshold fits near and far people alike.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ZoneCapacity(_Strict):
    """A zone of the camera file with the most people it may hold."""

    zone: str = Field(min_length=1, description="Name of a zone of this camera (`zones:`).")
    capacity: int = Field(ge=1, description="`zone.overcrowded` when more people than this are counted in the zone.")


class CountSettings(_Strict):
    """`crowd.count`: people per zone as a time series."""

    every_s: float = Field(default=5.0, gt=0, le=3600, description="Emit one `crowd.count` per zone this often.")
    density: bool = Field(default=True, description="Also run the density-map model (CSRNet) so dense crowds, where "
                          "boxes miss most people, are counted; false: detector tracks only.")
    density_every_s: float = Field(default=5.0, gt=0, le=3600, description="Run the density model at most this "
                                   "often (it costs ~1 s per frame at the reduced size); counts in between come from "
                                   "tracks, corrected by the last density ratio when the zone is dense.")
    density_max_side: int = Field(default=768, ge=128, le=2048, description="Longest side, in pixels, the density "
                                  "model sees (measured default; larger over-counts sparse scenes and is slower).")


class FlowSettings(_Strict):
    """Dominant direction and speed per zone, and counter-flow."""

    enabled: bool = Field(default=True, description="False: no flow, counter-flow or running detection.")
    every_s: float = Field(default=5.0, gt=0, le=3600, description="Emit one `crowd.flow` per zone this often.")
    sparse_below: int = Field(default=12, ge=1, description="Zones with fewer tracked people than this use the tracks' "
                              "motion; busier zones use dense optical flow (Farneback).")
    flow_max_side: int = Field(default=320, ge=64, le=1280, description="Dense optical flow runs on frames scaled to "
                               "this longest side.")
    min_speed: float = Field(default=0.25, ge=0, description="Movement slower than this (person heights per second) "
                             "is standing, not flow.")
    counter_flow_fraction: float = Field(default=0.2, gt=0, lt=0.5, description="`crowd.counter_flow` when at "
                                         "least this fraction of the moving people (or moving pixels) goes against "
                                         "the dominant direction (more than 135 degrees off it).")
    counter_flow_min_people: int = Field(default=2, ge=1, description="... and at least this many people (tracks) go "
                                         "against it (sparse zones).")
    hold_s: float = Field(default=1.0, ge=0, description="A counter-flow or running condition must last this long "
                          "before its event.")


class ClusterSettings(_Strict):
    """`crowd.stationary_cluster`, `crowd.formed`, `crowd.dispersed`: people gathering and staying put."""

    min_people: int = Field(default=4, ge=2, description="K: at least this many people ...")
    radius: float = Field(default=120.0, gt=0, description="... within this radius (pixels) of the group's centre ...")
    max_speed: float = Field(default=0.2, ge=0, description="... each moving slower than this (person heights per "
                             "second) ...")
    min_duration_s: float = Field(default=10.0, gt=0, description="T: ... for at least this long: one "
                                  "`crowd.stationary_cluster` per group.")
    formed_s: float = Field(default=2.0, ge=0, description="`crowd.formed` when K people (moving or not) stay within "
                            "the radius this long; `crowd.dispersed` when a formed group stays below K this long.")
    dense_people: float = Field(default=30.0, gt=0, description="Zones with more people than this (the detector "
                                "can no longer separate them) find clusters from the density map plus low optical "
                                "flow instead of tracks.")


class RunningSettings(_Strict):
    """`crowd.running`: a sudden rise in speed."""

    min_speed: float = Field(default=1.5, gt=0, description="Typical speed of the moving people (person heights per "
                             "second) at or above which they are running.")
    rise: float = Field(default=1.8, gt=1, description="... and at least this many times the zone's speed over the "
                        "previous `baseline_s`.")
    baseline_s: float = Field(default=10.0, gt=0, description="Length of the baseline window.")
    min_people: int = Field(default=2, ge=1, description="At least this many people must be running.")


class CrowdSettings(_Strict):
    """Crowd counting, flow and incidents on one camera. Zones come from the camera's `zones:`; without zones the
    whole frame is one zone named `frame`."""

    enabled: bool = Field(default=True, description="False keeps the section but runs nothing.")
    count: CountSettings = Field(default=CountSettings(), description="People per zone over time.")
    flow: FlowSettings = Field(default=FlowSettings(), description="Direction, speed and counter-flow.")
    cluster: ClusterSettings = Field(default=ClusterSettings(), description="Stationary clusters, gatherings.")
    running: RunningSettings = Field(default=RunningSettings(), description="People suddenly running.")
    capacities: list[ZoneCapacity] = Field(default_factory=list, description="Zones with a capacity "
                                           "(`zone.overcrowded`).")
    overcrowded_hold_s: float = Field(default=2.0, ge=0, description="The count must stay above capacity this long "
                                      "before `zone.overcrowded` (once per episode).")
