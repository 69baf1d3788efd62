"""PP-OCRv4 text lines (rapidocr-onnxruntime): where text is in an image region, and what it says.

Shared by the readers that need printed text, each with its own rules on top: licence
plates (`vision.plates`, plate formats) and identity documents (`vision.documents`, the
MRZ and the page's fields). One pipeline per process: a load costs ~0.5 s.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..models import resolve


def _make_ocr(threads: int) -> object:
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(
        det_model_path=str(resolve("ppocrv4-det")),
        rec_model_path=str(resolve("ppocrv4-rec")),
        cls_model_path=str(resolve("ppocr-cls")),
        intra_op_num_threads=threads,
        inter_op_num_threads=1,
        det_limit_type="max",
        det_limit_side_len=2000,
    )


_OCR_CACHE: dict[int, object] = {}


def shared_ocr() -> object:
    """One PP-OCRv4 pipeline per process (each load costs ~0.5 s)."""
    from ..config import get_settings

    threads = get_settings().threads
    if threads not in _OCR_CACHE:
        _OCR_CACHE[threads] = _make_ocr(threads)
    return _OCR_CACHE[threads]


def _quad_crop(img: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The text line as an upright image (the recogniser's expected input)."""
    quad = quad.astype(np.float32)
    w = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    h = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    w, h = max(w, 2), max(h, 2)
    dst = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    m = cv2.getPerspectiveTransform(quad, dst)
    return cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)


class TextLineReader:
    """PP-OCRv4 text lines of an image region: quads (region pixels) and texts."""

    def __init__(self, crop_side: int = 960, box_thresh: float = 0.5, unclip_ratio: float = 1.6) -> None:
        self.crop_side = int(crop_side)
        self.box_thresh = float(box_thresh)
        self.unclip_ratio = float(unclip_ratio)
        self._ocr = shared_ocr()

    def lines(self, bgr: np.ndarray, side: int | None = None) -> list[tuple[np.ndarray, str, float]]:
        """Text lines of `bgr`, its long side scaled to `side` (default `crop_side`)."""
        h, w = bgr.shape[:2]
        s = (side or self.crop_side) / max(h, w)
        img = cv2.resize(bgr, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
        det = self._ocr.text_det  # type: ignore[attr-defined]
        det.postprocess_op.box_thresh = self.box_thresh
        det.postprocess_op.unclip_ratio = self.unclip_ratio
        quads, _ = det(img)
        if quads is None or len(quads) == 0:
            return []
        crops = [_quad_crop(img, q) for q in quads]
        texts, _ = self._ocr.text_rec(crops)  # type: ignore[attr-defined]
        return [(np.asarray(q, np.float32) / s, t, float(c)) for q, (t, c) in zip(quads, texts)]

    @staticmethod
    def photo_side(h: int, w: int, short: int = 736, cap: int = 2000) -> int:
        """Long side for a whole photo: short side at `short` px (PP-OCR's own default),
        long side at most `cap`: plate text stays ~10+ px high in typical car photos."""
        return int(round(max(h, w) * min(short / min(h, w), cap / max(h, w))))

    def read_line(self, bgr: np.ndarray) -> tuple[str, float]:
        """Recognition only, for an image that is one text line (a plate crop)."""
        texts, _ = self._ocr.text_rec([bgr])  # type: ignore[attr-defined]
        return str(texts[0][0]), float(texts[0][1])


__all__ = ["TextLineReader", "shared_ocr"]
