"""EU, US and Brazilian plates with a generic text reader and plate-format rules.

No licence-clean plate detector ships in any package (model-supply.md), so the
default reader finds plates as *text that fits a plate format*: the whole photo
plus crops of small vehicles (the COCO detector of `vision.objects`), or only the
vehicle boxes a tracker gives -> PP-OCRv4 text detection (DB) -> PP-OCRv4
recognition of each text line -> per-country plate-format rules (`formats`), which
fold O/0 and I/1 by position and reject lines that cannot be a plate (shop signs,
model badges).

Why crop small vehicles: the text detector resizes its input, so a plate that is
1% of a street photo becomes a few pixels; a vehicle crop scaled to `crop_side`
keeps plate characters large enough to read. Why still read the whole photo: the
COCO detector misses or mis-boxes close-up cars, and their plates with them.

Measured (bench/plates.py, O/0 and I/1 folded because the openalpr truth mixes them):
EU 103/108, BR 51/52 end to end; US crops 181/200 (rapidocr alone: EU 99/108 with 77
false reads, BR 45/52, US crops 17/200 taking its most confident line).

Text without a digit (vanity plates such as "GWAGEN") is rejected by default
(`allow_no_digit=False`): to a text reader it is indistinguishable from badges and
signage, which were the main false reads when it was allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...types import BBox
from ..text_lines import TextLineReader
from .base import PlateRead, check_country, check_image, register_plate_reader, sort_reads
from .formats import FormatMatch, match, match_any, normalise

_VEHICLES = ("car", "bus", "truck", "motorcycle")


@dataclass(frozen=True, slots=True)
class OcrTrace:
    reads: list[PlateRead]
    regions: tuple[BBox, ...]
    rejected: tuple[tuple[BBox, str, float], ...]  # (box, raw text, recogniser score)


def format_fit(raw: str, country: str, *, allow_no_digit: bool, in_photo: bool = True) -> FormatMatch | None:
    """The plate reading of a text line, or None. In a photo, free-form text must look
    like a plate (5-8 symbols, letters and digits); a crop is known to be a plate, so
    any length of the country's free form is taken as read."""
    fit = match_any(raw) if country == "auto" else match(raw, country)
    if fit is None:
        return None
    if not allow_no_digit and not any(ch.isdigit() for ch in fit.text):
        return None
    if in_photo and fit.pattern == "generic" and not (5 <= len(fit.text) <= 8 and any(ch.isalpha() for ch in fit.text) and any(ch.isdigit() for ch in fit.text)):
        return None
    return fit


def fit_confidence(score: float, fit: FormatMatch) -> float:
    """Recogniser confidence, discounted for a free-form fit and for each folded glyph."""
    factor = 0.8 if fit.pattern == "generic" else 1.0
    return float(score) * factor * (0.95**fit.substitutions)


@register_plate_reader("ocr", "EU/US/BR plates: vehicle box -> PP-OCRv4 text det + rec -> plate-format rules (Apache-2.0)")
class OcrPlateReader:
    """The licence-clean default for Latin-alphabet plates."""

    name = "ocr"

    def __init__(
        self,
        country: str = "auto",
        *,
        vehicle_detector: str | None = "centernet",
        vehicle_min_score: float = 0.3,
        max_vehicles: int = 4,
        small_vehicle: float = 0.15,
        min_confidence: float = 0.5,
        allow_no_digit: bool = False,
        crop_side: int = 960,
    ) -> None:
        c = check_country(country)
        if c == "cn":
            from ...errors import InputError

            raise InputError("the ocr plate reader reads Latin plates (eu, us, br, auto); use the clpr reader for cn")
        self.country = c
        self.vehicle_detector = vehicle_detector
        self.vehicle_min_score = float(vehicle_min_score)
        self.max_vehicles = int(max_vehicles)
        self.small_vehicle = float(small_vehicle)
        self.min_confidence = float(min_confidence)
        self.allow_no_digit = bool(allow_no_digit)
        self._lines = TextLineReader(crop_side=crop_side)
        self._vehicles = None

    def vehicles(self, rgb: np.ndarray) -> list[BBox]:
        if self.vehicle_detector is None:
            return []
        if self._vehicles is None:
            from ..objects import create_object_detector

            self._vehicles = create_object_detector(self.vehicle_detector, min_score=self.vehicle_min_score, letterbox=True)
        dets = self._vehicles.detect(rgb, classes=_VEHICLES)
        dets = sorted(dets, key=lambda d: -d.box.area)[: self.max_vehicles]
        return [d.box for d in dets]

    def regions(self, rgb: np.ndarray, vehicle_boxes: Sequence[BBox] | None) -> list[BBox]:
        """Where to look. Given vehicle boxes (a tracker's): those only. Otherwise the
        whole photo, plus crops of the small vehicles the detector finds (under
        `small_vehicle` of the photo's area), where the crop's upscaling is what makes
        the plate readable. Measured (bench/plates.py): vehicle crops alone missed
        plates whenever the COCO detector missed or mis-boxed a close-up car (BR
        43/52 vs 51/52 from the whole photo; EU 96/108 vs 102/108 folded)."""
        h, w = rgb.shape[:2]
        whole = BBox(0, 0, w, h)
        if vehicle_boxes is not None:
            boxes = list(vehicle_boxes)
        else:
            boxes = [b for b in self.vehicles(rgb) if b.area < self.small_vehicle * w * h]
        out = [b.scaled(1.08).clip(w, h) for b in boxes]
        out = [b for b in out if b.width >= 16 and b.height >= 16]
        if vehicle_boxes is None:
            return [whole, *out]
        return out or [whole]

    def read(self, rgb: np.ndarray, *, vehicle_boxes: Sequence[BBox] | None = None) -> list[PlateRead]:
        return self.trace(rgb, vehicle_boxes=vehicle_boxes).reads

    def trace(self, rgb: np.ndarray, *, vehicle_boxes: Sequence[BBox] | None = None) -> OcrTrace:
        """The reads plus what led to them: the regions searched and the text lines the
        format rules rejected (the benchmark's error classes come from here)."""
        check_image(rgb)
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        reads: list[PlateRead] = []
        rejected: list[tuple[BBox, str, float]] = []
        regions = self.regions(rgb, vehicle_boxes)
        for region in regions:
            x1, y1, x2, y2 = (int(round(v)) for v in region.as_xyxy())
            is_whole = (x2 - x1, y2 - y1) == (rgb.shape[1], rgb.shape[0])
            side = TextLineReader.photo_side(y2 - y1, x2 - x1) if is_whole else None
            for quad, raw, score in self._lines.lines(bgr[y1:y2, x1:x2], side):
                quad = quad + np.float32([x1, y1])
                box = BBox(float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max()))
                box = box.clip(rgb.shape[1], rgb.shape[0])
                fit = format_fit(raw, self.country, allow_no_digit=self.allow_no_digit)
                conf = fit_confidence(score, fit) if fit is not None else 0.0
                if fit is None or conf < self.min_confidence:
                    rejected.append((box, raw, float(score)))
                    continue
                reads.append(PlateRead(fit.text, conf, box, fit.country, quad))
        return OcrTrace(sort_reads(_dedupe(reads)), tuple(regions), tuple(rejected))

    def read_crop(self, plate_rgb: np.ndarray) -> PlateRead | None:
        """A plate already cropped: the registration is its tallest text line (state
        names, slogans, stickers and dealer frames are smaller print), so lines are
        ranked by height first; the recogniser alone reads the crop when no line is found."""
        check_image(plate_rgb)
        h, w = plate_rgb.shape[:2]
        bgr = np.ascontiguousarray(plate_rgb[:, :, ::-1])
        lines = self._lines.lines(bgr)
        candidates: list[tuple[float, str, float]] = []
        for quad, raw, score in lines:
            height = float(min(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
            candidates.append((height, raw, score))
        if not candidates:
            raw, score = self._lines.read_line(bgr)
            candidates.append((float(h), raw, score))
        tallest = max(c[0] for c in candidates)
        row = _main_row(lines, tallest)
        if row is not None:  # the registration split in pieces by a gap, an emblem or a sticker
            fit = format_fit(row[0], self.country, allow_no_digit=True, in_photo=False)
            if fit is not None:
                return PlateRead(fit.text, fit_confidence(row[1], fit), BBox(0, 0, w, h), fit.country)
        best: tuple[float, PlateRead] | None = None
        for height, raw, score in candidates:
            fit = format_fit(raw, self.country, allow_no_digit=True, in_photo=False)
            if fit is None:
                continue
            conf = fit_confidence(score, fit)
            rank = conf * (height / tallest) ** 2
            if best is None or rank > best[0]:
                best = (rank, PlateRead(fit.text, conf, BBox(0, 0, w, h), fit.country))
        return best[1] if best else None


def _main_row(lines: list[tuple[np.ndarray, str, float]], tallest: float) -> tuple[str, float] | None:
    """The tallest line joined with the lines of its row of similar height, left to right
    (a US crop often reads as "832" + "AXV"); None when the row has a single line."""
    if len(lines) < 2:
        return None
    heights = [float(min(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2]))) for q, _, _ in lines]
    top = max(range(len(lines)), key=lambda i: heights[i])
    cy = float(lines[top][0][:, 1].mean())
    row = [i for i in range(len(lines)) if heights[i] >= 0.7 * tallest and abs(float(lines[i][0][:, 1].mean()) - cy) < 0.5 * tallest]
    if len(row) < 2:
        return None
    row.sort(key=lambda i: float(lines[i][0][:, 0].min()))
    text = normalise(lines[row[0]][1])
    for prev, cur in zip(row, row[1:]):
        piece = normalise(lines[cur][1])
        # Overlapping boxes read the shared glyph twice ("7164" + "4HF"): keep it once.
        overlap = float(lines[cur][0][:, 0].min()) < float(lines[prev][0][:, 0].max())
        if overlap and text and piece and text[-1] == piece[0]:
            piece = piece[1:]
        text += piece
    return text, float(np.mean([lines[i][2] for i in row]))


def _dedupe(reads: list[PlateRead]) -> list[PlateRead]:
    """Overlapping vehicle crops see the same plate twice: keep the most confident read."""
    kept: list[PlateRead] = []
    for r in sorted(reads, key=lambda r: -r.confidence):
        if all(r.box.iou(k.box) < 0.3 for k in kept):
            kept.append(r)
    return kept
