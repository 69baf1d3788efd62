"""The `retail` section of a camera file: footfall lines, dwell zones, heatmaps and a queue.

Each part is optional; a camera asks only for what it measures. Lines and zones are
named, not redrawn: they are the camera's own `lines:` and `zones:`, so the
annotator draws them and `line.cross` / `zone.*` events keep meaning the same thing.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntranceConfig(_Strict):
    """One entrance: a camera line and which crossing direction means "coming in"."""

    line: str = Field(min_length=1, description="Name of one of the camera's `lines`.")
    in_direction: Literal["left_to_right", "right_to_left"] = Field(
        default="left_to_right", description="Crossing direction (looking from the line's first point to its second) "
        "that counts as entering; the other counts as leaving.")


class FootfallConfig(_Strict):
    """People in and out per entrance line, with totals per period (hourly by default)."""

    entrances: list[EntranceConfig] = Field(default_factory=list, description="Entrance lines; empty: every camera "
                                            "line, left-to-right counting as in.")
    hysteresis_px: float = Field(default=6.0, ge=0, le=200, description="A crossing counts once the person's feet are "
                                 "this many pixels past the line, so jitter on the line is not counted twice.")
    period_s: float = Field(default=3600.0, ge=60, le=86400, description="Length of a totals period "
                            "(`retail.footfall_hourly`); 3600 gives hourly totals.")


class DwellConfig(_Strict):
    """How long people stay in zones (the distribution of stays, reported per zone)."""

    zones: list[str] = Field(default_factory=list, description="Camera zones whose stays are measured; empty: every "
                             "zone except the queue zone.")
    min_stay_s: float = Field(default=1.0, ge=0, le=600, description="Shorter stays are passing through and are not "
                              "reported.")


class HeatmapConfig(_Strict):
    """Where people are (occupancy) and where they stay (dwell), on a coarse grid of the floor."""

    grid: tuple[int, int] = Field(default=(32, 24), description="Cells across and down.")
    every_s: float = Field(default=300.0, ge=1, le=86400, description="Emit `retail.heatmap` (and rewrite the files) "
                           "this often, with the grid accumulated since the previous one.")
    directory: str | None = Field(default=None, description="Also write `<camera>-occupancy.png/.json` and "
                                  "`<camera>-dwell.png/.json` (cumulative) into this folder; null: events only.")

    @field_validator("grid")
    @classmethod
    def _grid(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not (2 <= v[0] <= 256 and 2 <= v[1] <= 256):
            raise ValueError("grid must be 2..256 cells each way")
        return v


class QueueConfig(_Strict):
    """Queue length and the estimated wait for a queue zone."""

    zone: str = Field(min_length=1, description="Name of the camera zone people queue in.")
    window_s: float = Field(default=120.0, ge=5, le=7200, description="Arrivals, departures and the mean length are "
                            "measured over this many past seconds.")
    every_s: float = Field(default=10.0, ge=1, le=3600, description="Emit `retail.queue` this often.")
    min_stay_s: float = Field(default=1.0, ge=0, le=600, description="Presences shorter than this are people passing "
                              "the queue, not in it.")


class RetailConfig(_Strict):
    """Retail analytics without identities: counts, stays and queues of anonymous person tracks."""

    enabled: bool = Field(default=True, description="False keeps the section but runs nothing.")
    footfall: FootfallConfig | None = Field(default=None, description="Footfall per entrance line; null: none.")
    dwell: DwellConfig | None = Field(default=None, description="Dwell times per zone; null: none.")
    heatmap: HeatmapConfig | None = Field(default=None, description="Occupancy and dwell heatmaps; null: none.")
    queue: QueueConfig | None = Field(default=None, description="A queue zone's length and wait; null: none.")
    snapshots: bool = Field(default=True, description="Attach a face-blurred picture of the queue zone to "
                            "`retail.queue` events (when the camera's snapshots are on).")
