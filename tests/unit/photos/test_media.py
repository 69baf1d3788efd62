"""Photo files as the library reads them: EXIF date and orientation, content hash, bad files."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from PIL import Image

from clearsight.apps.photos.media import parse_exif_date, read_photo, walk_photos
from clearsight.errors import InputError
from clearsight.settings import ImageLimits


def test_exif_orientation_and_date(tmp_path):
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, :40] = 255  # left half white: after the EXIF rotation it is the top half
    exif = Image.Exif()
    exif[274] = 6
    exif.get_ifd(0x8769)[36867] = "2021:02:03 04:05:06"
    Image.fromarray(img).save(tmp_path / "a.jpg", exif=exif, quality=95)
    photo = read_photo(tmp_path / "a.jpg", ImageLimits())
    assert photo.orientation == 6 and (photo.width, photo.height) == (40, 80)
    assert photo.rgb[:40].mean() > 200 and photo.rgb[40:].mean() < 50
    assert photo.taken_at == datetime(2021, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    Image.fromarray(img).save(tmp_path / "b.png")
    plain = read_photo(tmp_path / "b.png", ImageLimits())
    assert (plain.orientation, plain.taken_at) == (1, None) and plain.sha256 != photo.sha256


def test_bad_files_and_dates(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "junk.jpg").write_bytes(b"\x00" * 100)
    for name in ("empty.jpg", "junk.jpg"):
        with pytest.raises(InputError, match=name):
            read_photo(tmp_path / name, ImageLimits())
    assert parse_exif_date("0000:00:00 00:00:00") is None and parse_exif_date(None) is None


def test_walk_finds_photos_and_empty_folders(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "c").mkdir()
    (tmp_path / "a" / "x.JPG").write_bytes(b"")
    (tmp_path / "a" / "notes.txt").write_text("")
    photos, empty = walk_photos(tmp_path)
    assert photos == [tmp_path / "a" / "x.JPG"]
    assert set(empty) == {tmp_path / "a" / "b", tmp_path / "c"}
