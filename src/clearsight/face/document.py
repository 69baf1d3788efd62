"""An identity document read from a photo: the page, its portrait, its text and MRZ.

Why the portrait decides the orientation: the face detector finds upright faces
only, and a document photographed sideways or upside down is common. The page is
flattened first (`vision.documents.page`), then tried at 0, 90, 180 and 270
degrees; the turn whose largest face scores best is the page's upright, and the
text is read once, at that turn (text recognition is the slow step).

Why the largest face: documents print a second, smaller "ghost" portrait (and
sometimes a tiny one in a hologram); the holder's portrait is the biggest face on
the page. Among faces of similar size the more frontal (higher detector score)
one wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..io import ImageInput, load_image
from ..types import Face
from ..vision.documents.mrz import Mrz, find_mrz
from ..vision.documents.page import find_page, rotate
from .pipeline import FacePipeline

ROTATIONS = (0, 90, 180, 270)


@dataclass(frozen=True)
class Portrait:
    face: Face  # on the upright page
    crop: np.ndarray  # the portrait with a margin, RGB: what is compared with the selfie
    faces_on_page: int

    def to_dict(self) -> dict[str, Any]:
        b = self.face.box
        return {"box": [round(b.x1), round(b.y1), round(b.x2), round(b.y2)], "score": round(self.face.score, 3),
                "width_px": round(b.width), "faces_on_page": self.faces_on_page}


@dataclass(frozen=True)
class DocumentRead:
    page: np.ndarray  # upright, flattened when the outline was found
    page_found: bool
    rotation: int
    portrait: Portrait | None
    mrz: Mrz | None
    text: tuple[str, ...] = field(default=())

    def to_dict(self, *, with_text: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"page_found": self.page_found, "rotation": self.rotation,
                               "portrait": self.portrait.to_dict() if self.portrait else None,
                               "mrz": self.mrz.to_dict() if self.mrz else None}
        if with_text:
            out["text"] = list(self.text)
        return out


def upright(face: Face) -> bool:
    """Eyes above the mouth and roughly level: a face the detector saw the right way up."""
    p = face.landmarks.points if face.landmarks is not None else None
    if p is None or len(p) < 5:
        return True
    eyes, mouth = p[:2], p[3:5]
    dx, dy = float(eyes[1][0] - eyes[0][0]), float(eyes[1][1] - eyes[0][1])
    return abs(dy) < 0.5 * abs(dx) and float(mouth[:, 1].mean()) > float(eyes[:, 1].mean())


def _best_face(faces: list[Face]) -> Face | None:
    faces = [f for f in faces if upright(f)]
    if not faces:
        return None
    biggest = max(f.box.area for f in faces)
    similar = [f for f in faces if f.box.area >= 0.6 * biggest]
    return max(similar, key=lambda f: (f.score, f.box.area))


def portrait_crop(page: np.ndarray, face: Face, margin: float = 1.8) -> np.ndarray:
    h, w = page.shape[:2]
    b = face.box.scaled(margin).clip(w, h)
    return np.ascontiguousarray(page[int(b.y1):int(b.y2), int(b.x1):int(b.x2)])


class DocumentReader:
    """Reads ID documents with the given face pipeline and a shared PP-OCR reader."""

    def __init__(self, pipeline: FacePipeline, *, ocr: bool = True) -> None:
        self.pipeline = pipeline
        self.ocr = ocr
        self._text: Any = None

    def _orient(self, page: np.ndarray) -> tuple[int, np.ndarray, Face | None, int]:
        best: tuple[int, np.ndarray, Face | None, int] = (0, page, None, 0)
        best_key = (-1.0, 0.0)
        for deg in ROTATIONS:
            img = rotate(page, deg)
            faces = self.pipeline.detect(img)
            face = _best_face(faces)
            if face is None:
                continue
            key = (face.score, face.box.area)
            if key > best_key:
                best, best_key = (deg, img, face, len(faces)), key
            if deg == 0 and face.score >= 0.6:
                break  # upright, as almost every photo is: skip the other turns
        return best

    def read_text(self, page: np.ndarray) -> tuple[list[str], Mrz | None]:
        """The page's text lines and its MRZ, if one reads."""
        if self._text is None:
            from ..vision.documents.text import DocumentText

            self._text = DocumentText()
        lines, readings = self._text.read(page)
        return [t.text for t in lines], find_mrz(readings)

    def read(self, image: ImageInput) -> DocumentRead:
        rgb = load_image(image)
        if min(rgb.shape[:2]) < 200:
            raise InputError(f"the document photo is {rgb.shape[1]}x{rgb.shape[0]} px: too small to read "
                             "(photograph the whole page, at least 1000 px across)")
        pg = find_page(rgb)
        deg, upright, face, n = self._orient(pg.image)
        portrait = Portrait(face, portrait_crop(upright, face), n) if face is not None else None
        text: list[str] = []
        mrz = None
        if self.ocr:
            text, mrz = self.read_text(upright)
            if mrz is None:  # the face may have been upside down to the detector: the text may tell
                for d in ((deg + 180) % 360,) if portrait is not None else (180, 90, 270):
                    t, m = self.read_text(rotate(pg.image, d))
                    if m is not None:
                        deg, upright, text, mrz = d, rotate(pg.image, d), t, m
                        if portrait is not None:
                            f = _best_face(self.pipeline.detect(upright))
                            portrait = Portrait(f, portrait_crop(upright, f), n) if f is not None else None
                        break
        return DocumentRead(upright, pg.found, deg, portrait, mrz, tuple(text))


