"""A small real photo folder for the library's tests: LFW-gray faces of three people,
one photo of two of them together, one EXIF-rotated and dated, a duplicate under another
name, a corrupt file and an empty folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import data_path

PEOPLE = {"Colin_Powell": (1, 2, 3), "Tony_Blair": (1, 2, 3), "Serena_Williams": (1, 2, 3)}
EXIF_DATE = "2019:07:14 18:03:11"


def lfw(name: str, n: int) -> Path:
    return data_path("faces", "lfw_gray", "images", name, f"{name}_{n:04d}.jpg")


def build_folder(root: Path) -> dict[str, list[Path]]:
    """The folder, and which files show whom (the ground truth the tests check against)."""
    shows: dict[str, list[Path]] = {p: [] for p in PEOPLE}
    for person, numbers in PEOPLE.items():
        for n in numbers:
            dst = root / person.split("_")[0].lower() / f"{person}_{n}.jpg"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(lfw(person, n), dst)
            shows[person].append(dst)
    # two people in one photo (side by side): "photos of X and Y together"
    pair = np.concatenate([np.asarray(Image.open(lfw("Colin_Powell", 4)).convert("RGB")),
                           np.asarray(Image.open(lfw("Tony_Blair", 4)).convert("RGB"))], axis=1)
    together = root / "events" / "summit.jpg"
    together.parent.mkdir(parents=True)
    Image.fromarray(pair).save(together, quality=92)
    shows["Colin_Powell"].append(together)
    shows["Tony_Blair"].append(together)
    # stored sideways with EXIF orientation 6 (display rotated 90 degrees clockwise) and a date
    upright = Image.open(lfw("Serena_Williams", 4)).convert("RGB")
    exif = Image.Exif()
    exif[274] = 6
    exif[306] = EXIF_DATE
    exif.get_ifd(0x8769)[36867] = EXIF_DATE
    dated = root / "phone" / "IMG_0001.JPG"
    dated.parent.mkdir(parents=True)
    upright.rotate(90, expand=True).save(dated, exif=exif, quality=92)
    shows["Serena_Williams"].append(dated)
    # a byte-identical copy under another name, a corrupt "photo", an empty folder, a non-photo
    shutil.copyfile(root / "colin" / "Colin_Powell_1.jpg", root / "events" / "copy_of_colin.jpg")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (root / "empty").mkdir()
    (root / "notes.txt").write_text("not a photo")
    return shows


@pytest.fixture
def photo_folder(tmp_path) -> tuple[Path, dict[str, list[Path]]]:
    root = tmp_path / "Pictures"
    root.mkdir()
    return root, build_folder(root)
