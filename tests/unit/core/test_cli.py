"""The CLI as a shell user meets it: exit codes, one-line errors, JSON output, drawings."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from clearsight.cli import app

pytestmark = pytest.mark.unit
runner = CliRunner()


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory):
    from skimage import data

    p = tmp_path_factory.mktemp("img") / "astronaut.jpg"
    Image.fromarray(data.astronaut()).save(p)
    return p


def test_detect_json_and_draw(astronaut, tmp_path):
    out = tmp_path / "drawn.png"
    r = runner.invoke(app, ["detect", str(astronaut), "--json", "--quality", "--draw", str(out)])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout.strip().splitlines()[-1])
    assert rec["width"] == 512 and len(rec["faces"]) == 1
    face = rec["faces"][0]
    assert set(face["landmarks"]) == {"left_eye", "right_eye", "nose", "mouth_left", "mouth_right"}
    assert 0 <= face["quality"]["score"] <= 1
    drawn = np.asarray(Image.open(out))
    assert drawn.shape == (512, 512, 3) and not np.array_equal(drawn, np.asarray(Image.open(astronaut)))


def test_verify_same_image_matches_with_exit_0(astronaut):
    r = runner.invoke(app, ["verify", str(astronaut), str(astronaut), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["decision"] == "match"


def test_verify_no_face_is_a_clear_input_error(astronaut, tmp_path):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((200, 200, 3), 127, np.uint8)).save(blank)
    r = runner.invoke(app, ["verify", str(astronaut), str(blank)])
    assert r.exit_code == 2
    assert "no face" in r.stderr and "Traceback" not in r.output


def test_bad_files_give_exit_2_and_one_line(tmp_path):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff garbage")
    r = runner.invoke(app, ["detect", str(junk), str(tmp_path / "missing.jpg")])
    assert r.exit_code == 2
    lines = [line for line in r.stderr.splitlines() if line.startswith("clearsight: error:")]
    assert len(lines) == 2 and "Traceback" not in r.output


def test_unknown_operating_point_and_detector(astronaut):
    r = runner.invoke(app, ["verify", str(astronaut), str(astronaut), "-p", "loose"])
    assert r.exit_code == 2 and "unknown operating point" in r.stderr
    r = runner.invoke(app, ["detect", str(astronaut), "--detector", "yolo"])
    assert r.exit_code == 2 and "unknown face detector" in r.stderr


def test_models_table_lists_checksums():
    r = runner.invoke(app, ["models"])
    assert "blazeface-full-range" in r.stdout and "OK" in r.stdout
    rows = {row["name"]: row for row in json.loads(runner.invoke(app, ["models", "--json"]).stdout)}
    shipped = ("blazeface-full-range", "face-mesh-478", "centerface", "dlib-resnet-v1", "dlib-shape-predictor-5")
    assert all(rows[n]["checksum_ok"] and rows[n]["licence"] for n in shipped)
    # the exit code says whether every model is present and intact (an opt-in model may be absent)
    fine = all(row["checksum_ok"] or (row["optional"] and row["path"] is None) for row in rows.values())
    assert r.exit_code == (0 if fine else 3)
    assert rows["platedet"]["optional"] and not rows["dlib-resnet-v1"]["optional"]
