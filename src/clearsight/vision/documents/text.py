"""The text of a document page with PP-OCRv4 (the det/rec models of the plate reader).

Why join boxes: the text detector cuts a long line where glyphs are spaced apart,
and an MRZ line (44 monospaced characters, runs of `<`) is cut often. Boxes whose
vertical extents overlap mostly are one line, read left to right. Lines come back
top to bottom, the order the MRZ parser expects.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..text_lines import TextLineReader


@dataclass(frozen=True, slots=True)
class TextLine:
    text: str
    score: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in page pixels


def join_rows(pieces: list[tuple[np.ndarray, str, float]], overlap: float = 0.5) -> list[TextLine]:
    """Text boxes on the same row merged into lines, top to bottom."""
    items = []
    for quad, text, score in pieces:
        q = np.asarray(quad, np.float32).reshape(-1, 2)
        items.append((float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max()),
                      str(text), float(score)))
    items.sort(key=lambda b: (b[1] + b[3]) / 2)
    rows: list[list[tuple]] = []
    for it in items:
        for row in rows:
            y1, y2 = min(r[1] for r in row), max(r[3] for r in row)
            inter = min(y2, it[3]) - max(y1, it[1])
            if inter > overlap * min(y2 - y1, it[3] - it[1]):
                row.append(it)
                break
        else:
            rows.append([it])
    out = []
    for row in rows:
        row.sort(key=lambda r: r[0])
        out.append(TextLine("".join(r[4] for r in row), float(np.mean([r[5] for r in row])),
                            (min(r[0] for r in row), min(r[1] for r in row), max(r[2] for r in row),
                             max(r[3] for r in row))))
    out.sort(key=lambda t: (t.box[1] + t.box[3]) / 2)
    return out


def looks_like_mrz_row(line: TextLine, page_width: int) -> bool:
    t = line.text
    return (line.box[2] - line.box[0]) > 0.45 * page_width and len(t) >= 15 and (
        "<" in t or sum(c.isdigit() for c in t) >= 8)


class DocumentText:
    """Reads a page's text lines. One PP-OCR pipeline per process (shared with plates).

    MRZ rows get more care than other text. Measured on composed specimens, the
    recogniser reads a 44-character row best as one crop, but miscounts runs of
    `<` and drops or swaps a character in roughly one row of three; a binarised or
    padded crop of the same row fails on other characters. So each MRZ-like row is
    read three ways and the MRZ parser keeps the combination whose check digits hold.
    """

    def __init__(self, long_side: int = 1100) -> None:
        self.long_side = int(long_side)
        self._reader = TextLineReader(crop_side=self.long_side, box_thresh=0.5, unclip_ratio=1.6)

    def lines(self, rgb: np.ndarray) -> list[TextLine]:
        bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
        return join_rows(self._reader.lines(bgr))

    def readings(self, rgb: np.ndarray, line: TextLine) -> list[str]:
        """A row re-read whole: as photographed, binarised (Otsu) and with a margin."""
        h, w = rgb.shape[:2]
        x1, y1, x2, y2 = line.box
        pad = 0.15 * (y2 - y1)
        crop = rgb[max(0, int(y1 - pad)):min(h, int(y2 + pad)), max(0, int(x1 - pad)):min(w, int(x2 + pad))]
        if crop.size == 0:
            return [line.text]
        bgr = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2BGR)
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        padded = cv2.copyMakeBorder(bgr, 8, 8, 8, 8, cv2.BORDER_REPLICATE)
        out = [line.text]
        for img in (bgr, cv2.cvtColor(binary, cv2.COLOR_GRAY2BGR), padded):
            t, _score = self._reader.read_line(img)
            if t and t not in out:
                out.append(t)
        return out

    def read(self, rgb: np.ndarray) -> tuple[list[TextLine], list[list[str]]]:
        """Every text line, and the readings of each line (several for MRZ-like rows)."""
        lines = self.lines(rgb)
        w = rgb.shape[1]
        return lines, [self.readings(rgb, ln) if looks_like_mrz_row(ln, w) else [ln.text] for ln in lines]
