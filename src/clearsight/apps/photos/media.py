"""One photo file as the library sees it: content hash, EXIF date and orientation,
upright pixels and thumbnails.

Why here and not in `io.image`: the library needs the file's bytes once for three
things (the hash that recognises a duplicate under any name, the EXIF tags, the
pixels), and must know the EXIF orientation it applied, which `load_image` folds away.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

from ...errors import InputError
from ...io import decode_bytes, encode_jpeg, read_image_bytes
from ...settings import ImageLimits
from ...types import BBox

#: files the import reads (by extension, case-insensitive); others are not photos and are skipped silently
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".mpo"})

_EXIF_IFD = 0x8769
_DATE_TAGS = ((_EXIF_IFD, 36867), (_EXIF_IFD, 36868), (None, 306))  # DateTimeOriginal, DateTimeDigitized, DateTime
_ORIENTATION = 274


@dataclass(frozen=True)
class PhotoFile:
    path: Path
    sha256: str
    size: int
    rgb: np.ndarray  # upright
    orientation: int  # the EXIF orientation that was applied (1 = none)
    taken_at: datetime | None

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def parse_exif_date(text: object) -> datetime | None:
    """EXIF dates are local time without a zone ("2019:07:14 18:03:11"); kept as given,
    labelled UTC, so a search "from 2019-07-14" means the day the camera showed."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def read_exif(data: bytes) -> tuple[int, datetime | None]:
    """(orientation, date taken) from the file's EXIF; (1, None) when it has none."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            exif = img.getexif()
    except Exception:  # noqa: BLE001 - the decoder reports a bad file properly afterwards
        return 1, None
    orientation = exif.get(_ORIENTATION, 1)
    orientation = orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1
    for ifd, tag in _DATE_TAGS:
        value = exif.get_ifd(ifd).get(tag) if ifd else exif.get(tag)
        if (when := parse_exif_date(value)) is not None:
            return orientation, when
    return orientation, None


def read_photo(path: Path, limits: ImageLimits) -> PhotoFile:
    """Read, hash and decode one photo; `InputError` (with the path) when it cannot be."""
    data = read_image_bytes(path, limits=limits)
    if not data:
        raise InputError(f"{path}: the file is empty")
    try:
        rgb = decode_bytes(data, limits=limits)
    except InputError as exc:
        raise type(exc)(f"{path}: {exc}") from None
    orientation, taken = read_exif(data)
    return PhotoFile(path, hashlib.sha256(data).hexdigest(), len(data), rgb, orientation, taken)


def thumbnail_jpeg(rgb: np.ndarray, size: int) -> bytes:
    img = Image.fromarray(rgb)
    img.thumbnail((size, size))
    return encode_jpeg(np.asarray(img), quality=85)


def face_crop_jpeg(rgb: np.ndarray, box: BBox, size: int) -> bytes:
    """A square crop around the face with some margin, `size` pixels a side."""
    h, w = rgb.shape[:2]
    cx, cy = box.center
    half = max(box.width, box.height) * 0.8
    x1, y1 = int(max(0, cx - half)), int(max(0, cy - half))
    x2, y2 = int(min(w, cx + half)), int(min(h, cy + half))
    crop = rgb[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)]
    return encode_jpeg(np.asarray(Image.fromarray(crop).resize((size, size))), quality=85)


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only, atomically (a crash leaves the old or the new file)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def walk_photos(root: Path) -> tuple[list[Path], list[Path]]:
    """(photo files under `root`, sorted; folders under it that hold no photo at all)."""
    photos: list[Path] = []
    empty: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=None):
        dirnames.sort()
        here = [Path(dirpath) / f for f in sorted(filenames) if Path(f).suffix.lower() in PHOTO_SUFFIXES]
        if not here and not dirnames:
            empty.append(Path(dirpath))
        photos.extend(here)
    return photos, empty
