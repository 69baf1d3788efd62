"""Plate-format rules: folding happens only where a format is certain, and text that
cannot be a plate is rejected (no models: pure rules)."""

from __future__ import annotations

import numpy as np
import pytest

from clearsight.errors import InputError, UnknownBackendError
from clearsight.types import BBox
from clearsight.vision.plates import PlateRead, available_plate_readers, create_plate_reader, merge_reads
from clearsight.vision.plates.formats import fold, match, match_any, match_cn

pytestmark = pytest.mark.unit


def test_brazilian_letters_and_digits_fold_by_position():
    assert match("AY09034", "br").text == "AYO9034"  # a 0 where a letter belongs is an O
    assert match("0LA1208", "br").text == "OLA1208"
    assert match("PJI5396", "br").text == "PJI5396"  # the I stays a letter in the letter block
    assert match("OLB48O9", "br").text == "OLB4809"  # and an O in the digit block becomes 0
    assert match("BRA2E19", "br").pattern == "LLL9L99"  # Mercosul


def test_separators_and_case_are_dropped():
    assert match("wa·56660", "eu").text == "WA56660"
    assert match("PP-587A0", "eu").text == "PP587AO"


def test_text_that_is_not_a_plate_is_rejected():
    assert match("CZECH REPUBLIC", "eu") is None  # too long for any format
    assert match("ab", "br") is None
    assert match("KOVOVYROBA", "us") is None


def test_auto_prefers_a_national_format_over_free_form():
    m = match_any("GWT2180")
    assert m is not None and m.pattern != "generic"


def test_chinese_plates_keep_their_province():
    assert match_cn("皖A5P237") == "皖A5P237"
    assert match_cn("A5P237") is None  # a Chinese plate without its province is not one
    assert match_cn("皖·AD12345") == "皖AD12345"  # new-energy plates have 6 after the letter


def test_fold_makes_look_alikes_equal():
    assert fold("RKO99AN") == fold("RK099AN")
    assert fold("1B80338") == fold("IB8O338")


def test_plate_read_is_frozen_and_its_corners_read_only():
    r = PlateRead("AB123CD", 0.9, BBox(1, 2, 30, 12), "eu", np.zeros((4, 2)))
    with pytest.raises(ValueError):
        r.corners[0, 0] = 5  # type: ignore[index]
    assert r.to_dict() == {"text": "AB123CD", "confidence": 0.9, "box": [1.0, 2.0, 30.0, 12.0], "country": "eu"}


def test_registry_lists_readers_and_refuses_unknown_ones():
    assert {"clpr", "ocr", "platedet"} <= set(available_plate_readers())
    with pytest.raises(UnknownBackendError):
        create_plate_reader("nope")
    with pytest.raises(InputError):
        create_plate_reader("ocr", country="xx")


def test_merge_keeps_the_chinese_read_of_the_same_plate():
    cn = PlateRead("皖A5P237", 0.9, BBox(100, 100, 200, 130), "cn")
    latin = PlateRead("ASP237", 0.99, BBox(110, 102, 198, 128), "eu")
    other = PlateRead("AB123CD", 0.8, BBox(400, 100, 500, 130), "eu")
    assert [r.text for r in merge_reads([cn], [latin, other])] == ["皖A5P237", "AB123CD"]
