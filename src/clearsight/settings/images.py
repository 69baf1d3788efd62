"""Limits on decoded images: checked from the header before any pixel buffer exists."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ImageLimits(BaseModel):
    max_pixels: int = Field(
        50_000_000, gt=0,
        description="Largest image in pixels (50 MP covers an 8K photo); a decompression bomb is refused before decoding.",
    )
    max_bytes: int = Field(64 * 1024 * 1024, gt=0, description="Largest encoded image file in bytes.")
