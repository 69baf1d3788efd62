"""The camera-file sections of the traffic app: `analysers: {traffic: ..., forward_collision: ...}`.

Every threshold is the administrator's: nothing in the analysers is a hidden
constant a city would want to change. Zones and lines are the camera's own
(`zones:` / `lines:` of the camera file); the traffic section adds rules to them
by name, so one polygon drawn in the console is both a `zone.enter` zone and,
say, a no-stopping lane.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...stream.calibration import CalibrationError, Homography, KnownDistance

VEHICLE_CLASSES = ("car", "bus", "truck", "motorcycle", "bicycle")
PEDESTRIAN_CLASSES = ("person",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PointPair(_Strict):
    """One calibration point: where it is in the image and where it is on the ground."""

    image: tuple[float, float] = Field(description="[x, y] in the image: pixels, or fractions of the frame with "
                                       "`normalized`.")
    ground: tuple[float, float] = Field(description="[x, y] on the ground, in metres, in any fixed frame (e.g. along "
                                        "and across the road from a lane-marking corner).")


class KnownDistanceConfig(_Strict):
    """Two image points a measured distance apart (a lane marking, a parking bay)."""

    points: tuple[tuple[float, float], tuple[float, float]] = Field(description="The two image points, [[x, y], "
                                                                    "[x, y]].")
    metres: float = Field(gt=0, description="Their distance on the ground, in metres.")


class CalibrationConfig(_Strict):
    """Ground-plane calibration: 4 image points with their ground coordinates, or one known distance.

    The 4-point form is exact on a flat road in any view; the known distance gives one
    scale for the whole frame (right for a camera looking straight down, approximate
    otherwise).
    """

    points: list[PointPair] | None = Field(default=None, min_length=4, description="4 (or more) image points with "
                                           "their ground coordinates in metres; no three on one line.")
    distance: KnownDistanceConfig | None = Field(default=None, description="Alternatively: two image points and "
                                                 "their distance in metres.")
    normalized: bool = Field(default=False, description="Image coordinates are fractions (0..1) of the frame width "
                             "and height.")
    image_size: tuple[int, int] | None = Field(default=None, description="[width, height] of the frame the pixel "
                                               "points were taken on; they are scaled to the stream's frame size. "
                                               "Null: the stream's own size (checked on its first frame).")

    @model_validator(mode="after")
    def _one_form(self) -> CalibrationConfig:
        if (self.points is None) == (self.distance is None):
            raise ValueError("give either `points` (4 image points with ground coordinates) or `distance`")
        size = self.image_size
        if self.normalized:
            pts = [p.image for p in self.points] if self.points is not None else list(self.distance.points)  # type: ignore[union-attr]
            for i, (x, y) in enumerate(pts):
                if not (0 <= x <= 1 and 0 <= y <= 1):
                    raise ValueError(f"image point {i + 1} ({x:g}, {y:g}) is outside the frame (normalised "
                                     "coordinates are 0..1)")
            size = (1000, 1000)  # a nominal frame: the fit's checks are about shape, not resolution
        try:  # refuse collinear, out-of-frame and degenerate points when the file is validated, not at first frame
            self.fit(size)
        except CalibrationError as exc:
            raise ValueError(str(exc)) from None
        return self

    def fit(self, frame_size: tuple[int, int] | None) -> Homography | KnownDistance:
        """The ground map for frames of `frame_size` (None: no frame check, pixel points as given)."""
        from ...stream.calibration import scale_points

        def img(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
            if frame_size is None:
                return pts
            if self.normalized:
                return [tuple(p) for p in scale_points(pts, (1, 1), frame_size)]  # type: ignore[misc]
            if self.image_size is not None:
                return [tuple(p) for p in scale_points(pts, self.image_size, frame_size)]  # type: ignore[misc]
            return pts

        if self.points is not None:
            return Homography.fit(img([p.image for p in self.points]), [p.ground for p in self.points],
                                  frame_size=frame_size)
        assert self.distance is not None
        a, b = img(list(self.distance.points))
        return KnownDistance.fit(a, b, self.distance.metres, frame_size=frame_size)


class CongestionConfig(_Strict):
    """When a zone counts as congested: too many vehicles in it, or vehicles in it too slow."""

    min_vehicles: int | None = Field(default=None, ge=1, description="Congested when at least this many vehicles "
                                     "are in the zone; null: occupancy alone never is.")
    max_speed_kmh: float | None = Field(default=None, gt=0, description="Congested when the mean speed of the "
                                        "vehicles in the zone is at or below this; null: speed alone never is.")
    min_vehicles_for_speed: int = Field(default=2, ge=1, description="The speed test needs at least this many "
                                        "vehicles in the zone (one slow car is not a jam).")
    hold_s: float = Field(default=5.0, ge=0, description="The condition must hold this many seconds before "
                          "`traffic.congestion` (state start) and be gone as long before state end.")

    @model_validator(mode="after")
    def _some_test(self) -> CongestionConfig:
        if self.min_vehicles is None and self.max_speed_kmh is None:
            raise ValueError("congestion needs `min_vehicles` or `max_speed_kmh` (or both)")
        return self


class ZoneRules(_Strict):
    """The traffic rules of one camera zone (named as in the camera file's `zones`)."""

    stopped_after_s: float | None = Field(default=None, gt=0, description="Emit `vehicle.stopped` when a vehicle "
                                          "stands still in the zone this many seconds; null: never.")
    direction: tuple[tuple[float, float], tuple[float, float]] | None = Field(
        default=None, description="The allowed direction of travel as an arrow [[x, y] from, [x, y] to] in the "
        "zone's coordinates (pixels, or fractions when the zone is normalised); `vehicle.wrong_way` when a vehicle "
        "moves against it. Null: any direction.")
    speed_limit_kmh: float | None = Field(default=None, gt=0, description="Speed limit in this zone (overrides the "
                                          "camera-wide one); `vehicle.speeding` above it.")
    roadway: bool = Field(default=False, description="The zone is roadway: `pedestrian.in_roadway` when a person "
                          "stays in it.")
    congestion: CongestionConfig | None = Field(default=None, description="When the zone counts as congested "
                                                "(`traffic.congestion`); null: never.")

    @model_validator(mode="after")
    def _arrow(self) -> ZoneRules:
        if self.direction is not None and tuple(self.direction[0]) == tuple(self.direction[1]):
            raise ValueError("direction: the arrow needs two distinct points")
        return self


class TrafficConfig(_Strict):
    """Traffic analytics and incidents for a fixed camera: counts, speeds and rule events."""

    enabled: bool = Field(default=True, description="False keeps the section but runs nothing.")
    calibration: CalibrationConfig | None = Field(
        default=None, description="Ground-plane calibration for speeds in km/h; null: distances are estimated from "
        "box heights (a vehicle ~1.5 m, a person ~1.7 m), so speeds are approximate and speed rules need a "
        "calibration.")
    vehicle_classes: list[str] = Field(default=list(VEHICLE_CLASSES), min_length=1, description="Track classes "
                                       "that count as vehicles.")
    pedestrian_classes: list[str] = Field(default=list(PEDESTRIAN_CLASSES), description="Track classes that count "
                                          "as pedestrians.")
    speed_window_s: float = Field(default=0.6, gt=0, le=10, description="Speeds are the slope of a straight-line fit "
                                  "to the last this-many seconds of ground positions (longer: smoother, later).")
    speed_limit_kmh: float | None = Field(default=None, gt=0, description="Camera-wide speed limit, applied in every "
                                          "zone without its own; null: none.")
    confirm_s: float = Field(default=0.25, ge=0, le=10, description="Wrong way and speeding must hold this long "
                             "before their event (one noisy frame is not an incident).")
    still_speed_kmh: float = Field(default=3.0, gt=0, description="A vehicle slower than this is standing still.")
    still_radius_m: float = Field(default=1.0, gt=0, description="A standing vehicle keeps standing until it has "
                                  "moved this far from where it stopped (box jitter is not a start).")
    wrong_way_min_speed_kmh: float = Field(default=5.0, ge=0, description="Wrong way needs at least this speed "
                                           "against the arrow.")
    pedestrian_min_s: float = Field(default=0.5, ge=0, description="A person must be in a roadway zone this many "
                                    "seconds for `pedestrian.in_roadway`.")
    count_lines: list[str] | None = Field(default=None, description="Camera lines (by name) to count per class; "
                                          "null: every line of the camera.")
    count_interval_s: float = Field(default=60.0, gt=0, description="Emit `traffic.count` per counting line every "
                                    "this many seconds (counts of the interval, per class and direction).")
    zones: dict[str, ZoneRules] = Field(default_factory=dict, description="Rules per camera zone, by zone name.")
    snapshots: bool = Field(default=True, description="Attach a crop of the vehicle (or zone) to incident events "
                            "(also needs the camera's `output.snapshots`).")

    @model_validator(mode="after")
    def _speed_rules_need_calibration(self) -> TrafficConfig:
        limits = [self.speed_limit_kmh] + [z.speed_limit_kmh for z in self.zones.values()]
        if self.calibration is None and any(v is not None for v in limits):
            raise ValueError("speed limits need a ground-plane `calibration` (4 image points with ground "
                             "coordinates, or a known distance)")
        if self.calibration is None and any(z.congestion and z.congestion.max_speed_kmh for z in self.zones.values()):
            raise ValueError("congestion by speed (`max_speed_kmh`) needs a ground-plane `calibration`")
        return self


class ForwardCollisionConfig(_Strict):
    """Forward-collision warning for a camera looking ahead from a vehicle."""

    enabled: bool = Field(default=True, description="False keeps the section but warns of nothing.")
    ttc_warning_s: float = Field(default=2.0, gt=0, le=10, description="Warn when the time to collision with an "
                                 "object ahead falls to this many seconds.")
    window_s: float = Field(default=0.6, gt=0, le=5, description="Time-to-collision comes from a straight-line fit "
                            "of 1/size over the last this-many seconds of a track (longer: steadier, later).")
    min_samples: int = Field(default=4, ge=3, le=100, description="Detections a track needs in the window before "
                             "its time to collision counts.")
    confirm: int = Field(default=2, ge=1, le=20, description="Consecutive detections with time to collision under "
                         "the threshold before the warning.")
    rearm_factor: float = Field(default=1.5, ge=1, le=10, description="After a warning, the track warns again only "
                                "once its time to collision has risen above ttc_warning_s x this.")
    classes: list[str] = Field(default=[*VEHICLE_CLASSES, *PEDESTRIAN_CLASSES], min_length=1,
                               description="Track classes that can be collided with.")
    corridor: list[tuple[float, float]] = Field(
        default=[(0.3, 0.45), (0.7, 0.45), (0.95, 1.0), (0.05, 1.0)], min_length=3,
        description="The ego lane ahead as a polygon in fractions of the frame; only objects whose bottom centre "
        "is inside can trigger a warning.")
    min_size_px: float = Field(default=16, ge=1, description="Objects smaller than this (geometric mean of box "
                               "width and height, pixels) are too far to judge.")
    snapshots: bool = Field(default=True, description="Attach a crop of the object to the warning.")
    kind: Literal["box_growth"] = Field(default="box_growth", description="How time to collision is estimated: "
                                        "from the growth of the object's box (no calibration needed).")

    @model_validator(mode="after")
    def _corridor_normalised(self) -> ForwardCollisionConfig:
        if any(not (0 <= x <= 1 and 0 <= y <= 1) for x, y in self.corridor):
            raise ValueError("corridor: coordinates are fractions of the frame (0..1)")
        return self


__all__ = ["CalibrationConfig", "CongestionConfig", "ForwardCollisionConfig", "KnownDistanceConfig", "PointPair",
           "TrafficConfig", "ZoneRules"]
