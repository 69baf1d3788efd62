"""The plate-reading contract: one result type, one reader Protocol, one registry.

Every reader (a Chinese detector+recogniser, a generic text reader with plate-format
rules, an opt-in plate detector) returns `PlateRead`s in original-image pixels with
the text already normalised, so the store, the hot-lists and the video voting never
care which reader ran.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ...errors import InputError, UnknownBackendError
from ...types import BBox

COUNTRIES: tuple[str, ...] = ("cn", "eu", "us", "br")
"""Plate families a reader can report; "auto" (a request, never a result) decides among them."""


@dataclass(frozen=True, slots=True)
class PlateRead:
    """One plate read in one image.

    `text` is upper-case A-Z and 0-9 with no separators; Chinese plates keep their
    province character (e.g. "皖A5P237"). `box` is in original-image pixels.
    `corners` (4x2, clockwise from top-left, read-only) when the detector gives them.
    """

    text: str
    confidence: float
    box: BBox
    country: str
    corners: np.ndarray | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.corners is not None:
            pts = np.array(self.corners, dtype=np.float32).reshape(4, 2)
            pts.setflags(write=False)
            object.__setattr__(self, "corners", pts)

    def to_dict(self) -> dict[str, object]:
        """The JSON shape of the CLI and the REST API: box as [x1, y1, x2, y2]."""
        return {
            "text": self.text,
            "confidence": round(float(self.confidence), 4),
            "box": [round(v, 1) for v in self.box.as_xyxy()],
            "country": self.country,
        }


class PlateReader(Protocol):
    name: str

    def read(self, rgb: np.ndarray, *, vehicle_boxes: Sequence[BBox] | None = None) -> list[PlateRead]:
        """Plates in an RGB uint8 image, best first. `vehicle_boxes` narrows the search
        (a tracker's vehicles); None lets the reader decide (detector or whole image)."""
        ...


_READERS: dict[str, Callable[..., PlateReader]] = {}
_DESCRIPTIONS: dict[str, str] = {}


def register_plate_reader(name: str, description: str = "") -> Callable[[Callable[..., PlateReader]], Callable[..., PlateReader]]:
    def deco(factory: Callable[..., PlateReader]) -> Callable[..., PlateReader]:
        _READERS[name] = factory
        _DESCRIPTIONS[name] = description
        return factory

    return deco


def available_plate_readers() -> list[str]:
    return sorted(_READERS)


def describe_plate_reader(name: str) -> str:
    return _DESCRIPTIONS.get(name, "")


def create_plate_reader(name: str, **options: object) -> PlateReader:
    try:
        factory = _READERS[name]
    except KeyError:
        raise UnknownBackendError(f"unknown plate reader {name!r}; choose from {', '.join(available_plate_readers())}") from None
    return factory(**options)


def check_country(country: str, *, allow_auto: bool = True) -> str:
    c = (country or "").strip().lower()
    allowed = (*COUNTRIES, "auto") if allow_auto else COUNTRIES
    if c not in allowed:
        raise InputError(f"unknown plate country {country!r}; choose from {', '.join(allowed)}")
    return c


def check_image(rgb: np.ndarray) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InputError("plate readers take an RGB uint8 image of shape (H, W, 3)")
    if rgb.shape[0] < 8 or rgb.shape[1] < 8:
        raise InputError(f"image of {rgb.shape[1]}x{rgb.shape[0]} px is too small to hold a plate")
    return rgb


def sort_reads(reads: list[PlateRead]) -> list[PlateRead]:
    return sorted(reads, key=lambda r: (-r.confidence, r.box.x1))
