"""Image decoding with validation: one entry point, `load_image`, for every caller.

Everything downstream assumes a C-contiguous RGB uint8 array, upright as a person
would see the photo. Getting there safely means checking the header before any
pixel buffer is allocated (decompression bombs), honouring EXIF orientation
(phones store portraits sideways), and folding the long tail of modes (16-bit,
CMYK, palette, alpha) into RGB. Every failure becomes a typed `InputError`;
nothing from the decoder escapes as a crash.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageFile, ImageOps

from ..config import get_settings
from ..settings import ImageLimits
from ..errors import ClearsightError, ImageDecodeError, ImageTooLargeError, InputError, UnsupportedFormatError

ImageInput = Union[str, os.PathLike, bytes, bytearray, memoryview, np.ndarray, Image.Image]

SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF", "MPO"})

# We enforce our own limit from the header; PIL's global bomb guard would otherwise
# warn or raise with a different message at a different threshold.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False


def load_image(source: ImageInput, *, limits: ImageLimits | None = None, bgr: bool = False) -> np.ndarray:
    """Decode any supported input into an upright RGB uint8 array of shape (H, W, 3).

    `bgr=True` declares that a numpy input is in OpenCV's BGR order (it is converted).
    """
    limits = limits or get_settings().images
    if isinstance(source, np.ndarray):
        return _from_array(source, limits, bgr=bgr)
    if isinstance(source, Image.Image):
        _check_pixels(source.width, source.height, limits)
        return _pil_to_rgb(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > limits.max_bytes:
            raise ImageTooLargeError(f"image is {len(data)} bytes; the limit is {limits.max_bytes}")
        return decode_bytes(data, limits=limits)
    if isinstance(source, (str, os.PathLike)):
        return _from_path(Path(source), limits)
    raise InputError(f"unsupported image input type: {type(source).__name__}")


def read_image_bytes(path: str | os.PathLike, *, limits: ImageLimits | None = None) -> bytes:
    """Read an image file's bytes with clear errors for missing, unreadable or oversize files."""
    limits = limits or get_settings().images
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise InputError(f"no such image file: {p}") from None
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None
    if p.is_dir():
        raise InputError(f"{p} is a directory, not an image")
    if size > limits.max_bytes:
        raise ImageTooLargeError(f"{p} is {size} bytes; the limit is {limits.max_bytes}")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None


def _from_path(path: Path, limits: ImageLimits) -> np.ndarray:
    data = read_image_bytes(path, limits=limits)
    try:
        return decode_bytes(data, limits=limits)
    except ClearsightError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def decode_bytes(data: bytes, *, limits: ImageLimits | None = None) -> np.ndarray:
    limits = limits or get_settings().images
    if not data:
        raise ImageDecodeError("empty image data")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data))
            fmt = img.format or "unknown"
            if fmt not in SUPPORTED_FORMATS:
                raise UnsupportedFormatError(
                    f"unsupported image format {fmt}; use JPEG, PNG, WebP, BMP or TIFF"
                )
            _check_pixels(img.width, img.height, limits)
            img.load()
            return _pil_to_rgb(img)
    except ClearsightError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(str(exc)) from None
    except Image.UnidentifiedImageError:
        raise ImageDecodeError("not a recognised image (unknown or corrupt header)") from None
    except MemoryError:
        raise ImageTooLargeError("image too large to decode in available memory") from None
    except Exception as exc:  # PIL raises OSError, ValueError, SyntaxError, struct.error, ... on bad data
        raise ImageDecodeError(f"corrupt or truncated image: {exc}") from None


def _check_pixels(width: int, height: int, limits: ImageLimits) -> None:
    if width <= 0 or height <= 0:
        raise ImageDecodeError(f"image has no pixels ({width}x{height})")
    if width * height > limits.max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height} = {width * height} pixels; the limit is {limits.max_pixels}"
        )


def _pil_to_rgb(img: Image.Image) -> np.ndarray:
    img = ImageOps.exif_transpose(img) or img
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        return _gray_to_rgb(_rescale_to_uint8(arr))
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32)
        return _composite_on_white(rgba)
    if mode != "RGB":
        img = img.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, HSV
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Transparent pixels carry arbitrary colour; showing them on white is what viewers do."""
    alpha = rgba[..., 3:4] / 255.0
    rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
    return np.ascontiguousarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8))


def _rescale_to_uint8(arr: np.ndarray) -> np.ndarray:
    if not np.isfinite(arr).all():
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
    hi = float(arr.max()) if arr.size else 0.0
    if hi <= 1.0:
        scale = 255.0
    elif hi <= 255.0:
        scale = 1.0
    else:
        scale = 255.0 / 65535.0
    return np.clip(arr * scale + 0.5, 0, 255).astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(gray[..., None], 3, axis=2))


def _from_array(arr: np.ndarray, limits: ImageLimits, *, bgr: bool) -> np.ndarray:
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise InputError(f"array of shape {arr.shape} is not an image; expected (H, W), (H, W, 1|3|4)")
    _check_pixels(arr.shape[1], arr.shape[0], limits)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype != np.uint8:
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise InputError(f"array dtype {arr.dtype} is not an image type")
        arr = _rescale_to_uint8(arr.astype(np.float64))
    if arr.ndim == 2 or arr.shape[2] == 1:
        return _gray_to_rgb(arr.reshape(arr.shape[0], arr.shape[1]))
    if arr.shape[2] == 4:
        arr = _composite_on_white(arr.astype(np.float32))
    if bgr:
        arr = arr[..., ::-1]
    return np.ascontiguousarray(arr)


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def save_image(rgb: np.ndarray, path: str | os.PathLike) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half an image."""
    p = Path(path)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}.get(
        p.suffix.lower()
    )
    if fmt is None:
        raise InputError(f"cannot write {p.suffix or 'extension-less'} files; use .jpg, .png, .webp, .bmp or .tiff")
    tmp = p.with_name(f".{p.name}.tmp")
    try:
        Image.fromarray(rgb).save(tmp, format=fmt)
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {p}: {exc.strerror or exc}") from None
