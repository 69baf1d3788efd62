"""Opt-in: the `platedet` YOLOv8 plate detector + the PP-OCRv4 recogniser + format rules.

The detector finds plates of any country directly (openalpr EU 22/22, BR 18/18
boxes in model-supply.md), but its model metadata says AGPL-3.0 (Ultralytics), so
it is never a default: a user enables it by name (`create_plate_reader("platedet")`,
`clearsight plates --reader platedet`) after installing the `plates-agpl` extra,
and `clearsight models` shows its licence. We run the ONNX file ourselves and use
only its boxes (the segmentation head is ignored).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ...models import runtime
from ...types import BBox
from .base import PlateRead, check_country, check_image, register_plate_reader, sort_reads
from .ocr import TextLineReader, fit_confidence, format_fit

_SIZE = 640


@register_plate_reader("platedet", "any-country plate detector (YOLOv8, AGPL-3.0: opt-in) + PP-OCRv4 rec + format rules")
class PlatedetReader:
    name = "platedet"

    def __init__(self, country: str = "auto", min_score: float = 0.4, nms_iou: float = 0.4, min_confidence: float = 0.5, pad: float = 0.15) -> None:
        self.country = check_country(country)
        if self.country == "cn":
            from ...errors import InputError

            raise InputError("the platedet reader applies Latin plate formats; use the clpr reader for cn")
        self.min_score = float(min_score)
        self.nms_iou = float(nms_iou)
        self.min_confidence = float(min_confidence)
        self.pad = float(pad)
        self._det = runtime.onnx_session("platedet")
        self._lines = TextLineReader(crop_side=320)

    def detect(self, rgb: np.ndarray) -> list[tuple[BBox, float]]:
        from ..face_detection import nms

        h, w = rgb.shape[:2]
        r = min(_SIZE / h, _SIZE / w)
        nw, nh = int(round(w * r)), int(round(h * r))
        px, py = (_SIZE - nw) / 2, (_SIZE - nh) / 2
        canvas = np.full((_SIZE, _SIZE, 3), 114, np.uint8)
        top, left = int(round(py - 0.1)), int(round(px - 0.1))
        canvas[top : top + nh, left : left + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
        blob = (canvas.transpose(2, 0, 1)[None].astype(np.float32) / 255.0).astype(np.float16)
        out = self._det.run(None, {"images": blob})[0][0].astype(np.float32).T  # (8400, 4+1+32)
        scores = out[:, 4]
        keep = scores > self.min_score
        if not keep.any():
            return []
        cxcywh, scores = out[keep, :4], scores[keep]
        boxes = np.concatenate([cxcywh[:, :2] - cxcywh[:, 2:] / 2, cxcywh[:, :2] + cxcywh[:, 2:] / 2], axis=1)
        boxes = (boxes - [left, top, left, top]) / r
        return [(BBox(*boxes[i].tolist()).clip(w, h), float(scores[i])) for i in nms(boxes, scores, self.nms_iou)]

    def read(self, rgb: np.ndarray, *, vehicle_boxes: Sequence[BBox] | None = None) -> list[PlateRead]:
        check_image(rgb)
        h, w = rgb.shape[:2]
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        reads = []
        for box, score in self.detect(rgb):
            if vehicle_boxes and not any(v.x1 <= box.center[0] <= v.x2 and v.y1 <= box.center[1] <= v.y2 for v in vehicle_boxes):
                continue
            grown = BBox(box.x1 - self.pad * box.width, box.y1 - self.pad * box.height, box.x2 + self.pad * box.width, box.y2 + self.pad * box.height).clip(w, h)
            x1, y1, x2, y2 = (int(round(v)) for v in grown.as_xyxy())
            if x2 - x1 < 8 or y2 - y1 < 4:
                continue
            crop = bgr[y1:y2, x1:x2]
            candidates = [(t, c) for _, t, c in self._lines.lines(crop)] + [self._lines.read_line(crop)]
            best: PlateRead | None = None
            for raw, conf in candidates:
                fit = format_fit(raw, self.country, allow_no_digit=True, in_photo=False)
                if fit is None:
                    continue
                c = fit_confidence(conf, fit) * min(1.0, score / 0.6)
                if c >= self.min_confidence and (best is None or c > best.confidence):
                    best = PlateRead(fit.text, c, box, fit.country)
            if best is not None:
                reads.append(best)
        return sort_reads(reads)
