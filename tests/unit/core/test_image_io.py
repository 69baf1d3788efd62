"""Image input: every format and mode we promise, and a typed error for everything else."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from clearsight.settings import ImageLimits
from clearsight.errors import ClearsightError, ImageDecodeError, ImageTooLargeError, InputError, UnsupportedFormatError
from clearsight.io import load_image, save_image

pytestmark = pytest.mark.unit


def _astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "TIFF"])
def test_formats_decode_to_rgb(fmt):
    src = _astronaut()
    out = load_image(_encode(Image.fromarray(src), fmt))
    assert out.shape == src.shape and out.dtype == np.uint8 and out.flags["C_CONTIGUOUS"]
    tolerance = 12 if fmt in ("JPEG", "WEBP") else 0  # lossy formats
    assert np.abs(out.astype(int) - src.astype(int)).mean() <= tolerance


def test_path_bytes_array_and_pil_agree(tmp_path):
    src = _astronaut()
    p = tmp_path / "a.png"
    Image.fromarray(src).save(p)
    for variant in (p, str(p), p.read_bytes(), src, Image.fromarray(src)):
        assert np.array_equal(load_image(variant), src)


def test_bgr_array_is_converted():
    src = _astronaut()
    assert np.array_equal(load_image(src[..., ::-1].copy(), bgr=True), src)


def test_exif_orientation_is_applied():
    src = _astronaut()[:, :300]  # 512 x 300, not square, so rotation shows in the shape
    img = Image.fromarray(src)
    exif = img.getexif()
    exif[0x0112] = 6  # stored rotated: display needs 90 degrees clockwise
    out = load_image(_encode(img, "JPEG", exif=exif.tobytes()))
    assert out.shape[:2] == (300, 512)
    expected = np.rot90(src, k=-1)
    assert np.abs(out.astype(int) - expected.astype(int)).mean() < 12


def test_grayscale_16bit_cmyk_palette_alpha():
    src = _astronaut()
    gray = Image.fromarray(src).convert("L")
    out = load_image(_encode(gray, "PNG"))
    assert out.shape == (*src.shape[:2], 3) and np.array_equal(out[..., 0], np.asarray(gray))

    g16 = (np.asarray(gray, dtype=np.uint16) * 257).astype(np.uint16)
    out16 = load_image(_encode(Image.fromarray(g16), "PNG"))
    assert np.abs(out16[..., 0].astype(int) - np.asarray(gray, dtype=int)).max() <= 1

    cmyk = load_image(_encode(Image.fromarray(src).convert("CMYK"), "JPEG"))
    assert cmyk.shape == src.shape and np.abs(cmyk.astype(int) - src.astype(int)).mean() < 15

    pal = load_image(_encode(Image.fromarray(src).convert("P"), "PNG"))
    assert pal.shape == src.shape

    rgba = np.dstack([src, np.full(src.shape[:2], 255, np.uint8)])
    rgba[:10, :10, 3] = 0  # fully transparent corner shows white
    out_a = load_image(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert out_a.shape == src.shape and (out_a[:10, :10] == 255).all()
    assert np.array_equal(out_a[20:, 20:], src[20:, 20:])


def test_float_and_bool_arrays():
    f = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    out = load_image(f)
    assert out.shape == (64, 64, 3) and out[0, 0, 0] == 0 and out[-1, -1, 0] == 255
    assert load_image(np.ones((8, 8), bool)).max() == 255


def test_pixel_limit_is_checked_from_the_header_before_decoding():
    big = Image.new("L", (4000, 3000))
    data = _encode(big, "PNG")
    with pytest.raises(ImageTooLargeError, match="12000000 pixels"):
        load_image(data, limits=ImageLimits(max_pixels=10_000_000))
    with pytest.raises(ImageTooLargeError):
        load_image(data, limits=ImageLimits(max_bytes=100))


def test_decompression_bomb_header_is_refused_without_allocating():
    # A PNG header claiming 100k x 100k pixels with almost no data.
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")
    with pytest.raises(ImageTooLargeError):
        load_image(png)


@pytest.mark.parametrize(
    "payload, error",
    [
        (b"", ImageDecodeError),
        (b"hello, not an image", ImageDecodeError),
        (b"%PDF-1.4\n%....", ImageDecodeError),
    ],
)
def test_garbage_raises_typed_errors(payload, error):
    with pytest.raises(error):
        load_image(payload)


def test_truncated_jpeg_raises_decode_error():
    data = _encode(Image.fromarray(_astronaut()), "JPEG")
    with pytest.raises(ImageDecodeError, match="corrupt or truncated"):
        load_image(data[: len(data) // 2])


def test_unsupported_format_is_named():
    data = _encode(Image.fromarray(_astronaut()), "GIF")
    with pytest.raises(UnsupportedFormatError, match="GIF"):
        load_image(data)


def test_missing_file_and_directory_and_bad_types(tmp_path):
    with pytest.raises(InputError, match="no such image file"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(InputError, match="directory"):
        load_image(tmp_path)
    with pytest.raises(InputError):
        load_image(12345)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        load_image(np.zeros((4, 4, 7), np.uint8))
    with pytest.raises(InputError):
        load_image(np.zeros((4, 4), dtype=object))


def test_save_image_is_atomic_and_refuses_unknown_extensions(tmp_path):
    src = _astronaut()
    save_image(src, tmp_path / "out.png")
    assert np.array_equal(load_image(tmp_path / "out.png"), src)
    assert not list(tmp_path.glob(".*tmp"))
    with pytest.raises(InputError):
        save_image(src, tmp_path / "out.xyz")


_VALID = [_encode(Image.fromarray(np.full((16, 24, 3), 90, np.uint8)), f) for f in ("JPEG", "PNG", "WEBP", "BMP", "TIFF")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_never_crash(data):
    try:
        out = load_image(data)
    except ClearsightError:
        return
    assert out.ndim == 3 and out.shape[2] == 3 and out.dtype == np.uint8


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(_VALID))), st.integers(min_value=0, max_value=2000), st.binary(max_size=64), st.integers(0, 2000))
def test_truncated_and_mutated_images_never_crash(which, cut, junk, pos):
    data = bytearray(_VALID[which][:cut] if cut < len(_VALID[which]) else _VALID[which])
    p = min(pos, len(data))
    data[p : p + len(junk)] = junk
    try:
        out = load_image(bytes(data))
    except ClearsightError:
        return
    assert out.ndim == 3 and out.shape[2] == 3
