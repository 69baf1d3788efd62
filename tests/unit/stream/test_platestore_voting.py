"""Per-track voting of plate reads: one read per track, per-character majority by confidence."""

from __future__ import annotations

import numpy as np
import pytest

from clearsight.apps.plates.voting import TrackVotes, Vote, vote

pytestmark = pytest.mark.unit


def _v(text: str, conf: float = 0.9, country: str = "eu", crop: np.ndarray | None = None) -> Vote:
    return Vote(text, conf, country, 0.0, crop)


def test_single_character_misreads_are_outvoted_position_by_position():
    # no frame read it right alone twice, but every position has a majority
    r = vote([_v("AB1234"), _v("A81234"), _v("AB1Z34"), _v("AB1234", 0.6), _v("AB12"), _v("AB123A")])
    assert r is not None and r.text == "AB1234" and r.votes == 2 and r.reads == 6 and r.country == "eu"
    weak = vote([_v("AB1234", 0.5)])
    split = vote([_v("AB1234"), _v("XY9876")])
    agreeing = vote([_v("AB1234")] * 3)
    assert agreeing.confidence > weak.confidence and agreeing.confidence > split.confidence


def test_a_text_read_twice_beats_misreads_that_only_share_a_length():
    # the reader's reads of one EU car over five degraded frames (bench/plates_video.py, plate BB751BH)
    reads = [_v("MB8751BH", 0.8636), _v("BB751BH", 0.9657), _v("BB8751BH", 0.7428), _v("BB751BH", 0.9371),
             _v("8B975188", 0.6562)]
    r = vote(reads)
    assert r.text == "BB751BH" and r.votes == 2 and r.reads == 5


def test_the_crop_comes_from_the_most_confident_exact_read_and_memory_is_bounded():
    crops = [np.full((4, 8, 3), i, np.uint8) for i in range(3)]
    r = vote([_v("AB1234", 0.7, crop=crops[0]), _v("AB1284", 0.99, crop=crops[1]), _v("AB1234", 0.8, crop=crops[2])])
    assert r.text == "AB1234" and int(r.crop[0, 0, 0]) == 2
    tv = TrackVotes(max_reads=3)
    for c in (0.1, 0.9, 0.8, 0.2, 0.95):
        tv.add(7, _v("AB1234", c))
    assert tv.result(7).reads == 3 and vote([]) is None
    assert tv.pop(7).text == "AB1234" and tv.result(7) is None


def test_a_camera_file_names_the_plates_analyser_and_its_settings_are_checked(tmp_path):
    from clearsight.apps.compose import check_plugins
    from clearsight.stream.analysers import analyser_spec
    from clearsight.stream.config import CameraConfigError, parse_camera

    ok = parse_camera({"name": "gate", "source": str(tmp_path), "analysers": {"plates": {"country": "eu", "min_votes": 2}}})
    check_plugins(ok)
    assert set(analyser_spec("plates").emits) == {"plate.read", "plate.hotlist_match"}
    for bad in ({"every_n_frames": 0}, {"country": "mars"}, {"min_vote": 2}):
        with pytest.raises(CameraConfigError, match="plates"):
            check_plugins(parse_camera({"name": "gate", "source": str(tmp_path), "analysers": {"plates": bad}}))
