"""The interfaces on real inputs: `clearsight effects` for a photo and a video file,
and `apply_effects_to_image` (what POST /v1/effects serves)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from clearsight.apps.effects.pipeline import apply_effects_to_image
from clearsight.cli import app
from clearsight.errors import ImageDecodeError
from clearsight.io import decode_bytes, load_image

from ...conftest import data_path

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_cli_photo(tmp_path):
    src = data_path("faces", "face_recognition_examples", "examples", "two_people.jpg")
    out = tmp_path / "out.jpg"
    r = runner.invoke(app, ["effects", "--input", str(src), "--output", str(out), "--preset", "party", "--set", "eye_enlarge=0.4"])
    assert r.exit_code == 0, r.output
    a, b = load_image(src), load_image(out)
    assert a.shape == b.shape and np.abs(a.astype(int) - b).max() > 100


def test_cli_video(tmp_path):
    src = data_path("faces", "face_recognition_examples", "examples", "short_hamilton_clip.mp4")
    out = tmp_path / "out.mp4"
    r = runner.invoke(app, ["effects", "-i", str(src), "-o", str(out), "--preset", "glam", "--set", "stickers=sunglasses", "--max-frames", "12"])
    assert r.exit_code == 0, r.output
    assert "12 frames" in r.output
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 12


def test_cli_errors(tmp_path):
    src = data_path("faces", "face_recognition_examples", "examples", "two_people.jpg")
    r = runner.invoke(app, ["effects", "-i", str(src), "-o", str(tmp_path / "o.jpg"), "--set", "beauty_score=1"])
    assert r.exit_code == 2 and "unknown effect parameter" in r.output
    r = runner.invoke(app, ["effects", "-i", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "o.mp4")])
    assert r.exit_code == 2 and "not found" in r.output
    r = runner.invoke(app, ["effects", "--list"])
    assert r.exit_code == 0 and "sunglasses" in r.output


def test_apply_effects_to_image_bytes():
    data = data_path("faces", "deepface_pairs", "img1.jpg").read_bytes()
    out = apply_effects_to_image(data, "glam", {"stickers": "bunny_ears"})
    assert out[:2] == b"\xff\xd8"
    a, b = decode_bytes(data), decode_bytes(out)
    assert a.shape == b.shape and np.abs(a.astype(int) - b).mean() > 1
    # nothing chosen: the picture comes back as it was (re-encoded)
    same = decode_bytes(apply_effects_to_image(data))
    assert np.abs(same.astype(int) - a).mean() < 3
    with pytest.raises(ImageDecodeError):
        apply_effects_to_image(b"not an image", "glam")
