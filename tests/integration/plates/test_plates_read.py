"""Plate reading on real photos from ../shared/data/plates: the default readers end to
end (EU, BR, CCPD), the Chinese reader on crops, a photo without a plate, a corrupt
file, and the `clearsight plates --json` contract."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from clearsight.errors import InputError
from clearsight.io import load_image
from clearsight.vision.plates import create_plate_reader, read_plates
from tests.conftest import data_path

pytestmark = pytest.mark.integration


def _openalpr(country: str, image: str) -> tuple[str, str]:
    base = data_path("plates", "openalpr")
    for r in csv.DictReader(open(base / "endtoend_groundtruth.csv")):
        if r["image"] == f"endtoend/{country}/{image}":
            return str(base / r["image"]), r["plate_text"]
    raise AssertionError(image)


@pytest.mark.parametrize(("country", "image"), [("eu", "eu11.jpg"), ("br", "GWT2180.jpg")])
def test_latin_plates_read_exactly_from_the_full_photo(country, image):
    path, truth = _openalpr(country, image)
    reads = read_plates(load_image(path), country=country)
    assert truth in [r.text for r in reads]
    best = next(r for r in reads if r.text == truth)
    assert best.country == country and 0 < best.confidence <= 1


@pytest.mark.parametrize("image", ["ccpd_base_06.jpg"])  # the generic reader reads it "ASP237": auto must keep the province
def test_chinese_plates_read_exactly_with_province_in_auto(image):
    base = data_path("plates", "chinese_ccpd_samples")
    row = next(r for r in csv.DictReader(open(base / "labels.csv", encoding="utf-8")) if r["image"] == f"images/{image}")
    reads = read_plates(load_image(base / row["image"]), country="auto")
    assert reads and reads[0].text == row["plate_text"] and reads[0].country == "cn"
    x1, y1, x2, y2 = (float(row[k]) for k in ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2"))
    assert reads[0].box.iou(type(reads[0].box)(x1, y1, x2, y2)) > 0.6
    assert reads[0].corners is not None and reads[0].corners.shape == (4, 2)


def test_chinese_reader_on_crops():
    base = data_path("plates", "chinese_lprnet_crops")
    rows = list(csv.DictReader(open(base / "labels.csv", encoding="utf-8")))[:30]
    reader = create_plate_reader("clpr")
    got = [(r := reader.read_crop(load_image(base / row["image"]))) and r.text for row in rows]
    assert sum(g == row["plate_text"] for g, row in zip(got, rows)) >= 29


def test_a_photo_without_a_plate_gives_no_reads():
    path = data_path("plates", "chinese_ccpd_samples", "images", "ccpd_np_np1.jpg")
    assert read_plates(load_image(path), country="auto") == []


def test_bad_inputs_are_refused_clearly(tmp_path):
    import numpy as np

    with pytest.raises(InputError, match="country"):
        read_plates(np.zeros((64, 64, 3), np.uint8), country="mars")
    with pytest.raises(InputError, match="RGB uint8"):
        read_plates(np.zeros((64, 64), np.uint8))


def test_cli_json_one_object_per_image_in_order_and_exit_2_on_a_corrupt_file(tmp_path):
    from clearsight.cli import app

    base = data_path("plates", "chinese_ccpd_samples")
    plate, truth = str(base / "images" / "ccpd_base_02.jpg"), "皖AY766D"
    empty = str(base / "images" / "ccpd_np_np2.jpg")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff not really a jpeg")
    r = CliRunner().invoke(app, ["plates", plate, str(corrupt), empty, "--country", "cn", "--json"])
    assert r.exit_code == 2, r.output
    out = json.loads(r.stdout)
    assert [o["image"] for o in out] == [plate, str(corrupt), empty]
    assert out[0]["plates"][0]["text"] == truth and out[0]["plates"][0]["country"] == "cn"
    assert set(out[0]["plates"][0]) == {"text", "confidence", "box", "country"} and len(out[0]["plates"][0]["box"]) == 4
    assert "error" in out[1] and "plates" not in out[1]
    assert out[2]["plates"] == []


def test_cli_refuses_an_unknown_country_before_reading():
    from clearsight.cli import app

    r = CliRunner().invoke(app, ["plates", "whatever.jpg", "--country", "mars"])
    assert r.exit_code == 2 and "country" in r.output
