"""Ticketless face-pay at metro gates: how sure a gate must be, the fares, and how long
evidence is kept.

Money is integer minor units of one currency (cents for EUR), never floats. The fare
table is data (flat, or zones by station) so an operator changes fares without code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator


class FareTable(BaseModel):
    """`flat`: every journey costs `flat_fare`. `zones`: `base_fare` plus `per_zone` for
    each zone boundary crossed between the entry and exit stations (`station_zones`);
    a station missing from the table is charged the cap. A journey never costs more
    than `capped_fare`, which is also what a tap-in without a tap-out costs."""

    kind: Literal["flat", "zones"] = Field("flat", description="flat: one fare; zones: by zones crossed.")
    flat_fare: int = Field(250, ge=0, description="Fare of any journey in minor units (kind=flat).")
    base_fare: int = Field(200, ge=0, description="Fare within one zone in minor units (kind=zones).")
    per_zone: int = Field(100, ge=0, description="Added per zone boundary crossed, minor units (kind=zones).")
    station_zones: dict[str, int] = Field(default_factory=dict, description="station -> zone number (kind=zones).")
    capped_fare: int = Field(500, ge=0, description="Most a journey costs; charged for a tap-in never tapped out.")

    @model_validator(mode="after")
    def _cap_covers_fares(self) -> FareTable:
        if self.kind == "flat" and self.flat_fare > self.capped_fare:
            raise ValueError("capped_fare must be at least flat_fare")
        if self.kind == "zones" and self.base_fare > self.capped_fare:
            raise ValueError("capped_fare must be at least base_fare")
        return self


class FacePaySettings(BaseModel):
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 code of every account and fare.")
    fpir: float = Field(
        1e-4, gt=0, le=0.01,
        description="Target false-positive identification rate of the gate's 1:N decision over all riders: the "
        "chance that a stranger (or a rider who is not enrolled) is taken for someone.",
    )
    min_margin: float = Field(
        0.05, ge=0, le=1,
        description="The best rider must beat the second by this much cosine similarity; closer is 'several close "
        "candidates' and nobody is charged.",
    )
    second_face_ratio: float = Field(
        0.4, gt=0, le=1,
        description="A second face at least this fraction of the largest face's area makes the frame ambiguous "
        "(who is passing?): nobody is charged.",
    )
    require_liveness: bool = Field(True, description="Refuse a face the passive liveness check judges not live.")
    liveness_threshold: float = Field(0.5, ge=0, le=1, description="Live score (0-1) a face needs at the gate.")
    same_passage_s: float = Field(
        60, gt=0, le=3600,
        description="The same rider seen at the same station within this many seconds is one passage, whichever "
        "gate saw them.",
    )
    tap_out_timeout_s: float = Field(
        4 * 3600, gt=0, description="A tap-in without a tap-out after this long is closed at the capped fare."
    )
    fares: FareTable = Field(default_factory=FareTable, description="The fare table (flat, or zones by station), kept as data.")
    max_top_up: int = Field(50_000, gt=0, description="Largest single top-up, minor units.")
    max_balance: int = Field(100_000, gt=0, description="Largest balance an account may hold, minor units.")
    keep_snapshots: bool = Field(
        True, description="Keep the gate frame of each charged passage (encrypted) as dispute evidence."
    )
    dispute_window_days: float = Field(
        30, gt=0, le=365,
        description="How long a rider may dispute a passage; its snapshot is deleted after this (or when the "
        "dispute is resolved, if later).",
    )
