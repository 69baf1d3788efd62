"""Licence plates are personal data: how long reads are kept and what a search may ask.

A plate identifies a vehicle's keeper, so reads carry a purpose, expire by retention
and every lookup is audited (`clearsight.apps.plates`). The defaults keep reads for a
short, fixed time: a deployment that needs longer says so here, explicitly.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class PlateSettings(BaseModel):
    retention_days: float = Field(
        30, gt=0,
        description="Plate reads (text, crop) older than this many days are deleted by retention. The service "
        "purges at most every `purge_interval_s` while it records reads, and `POST /v1/plates/retention/purge` "
        "purges now.",
    )
    purge_interval_s: float = Field(
        3600, gt=0, description="Seconds between two automatic retention purges of plate reads."
    )
    purpose: str = Field(
        "traffic", min_length=1, max_length=32,
        description="Purpose recorded with every plate read a camera stores (e.g. traffic, parking, access).",
    )
    store_crops: bool = Field(
        True, description="Keep the plate crop of each stored read (encrypted at rest with the snapshot key)."
    )
    search_limit: int = Field(500, gt=0, le=10_000, description="Most reads one plate search returns.")
    min_search_chars: int = Field(
        2, ge=0, le=8,
        description="Literal characters (not ? or *) a search pattern must name: listing every plate seen is not a "
        "search for one.",
    )
