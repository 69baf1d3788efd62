"""Counting people on real images: the CLI's JSON, the ROI rule, and the combined count on Mall frames."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from tests.conftest import data_path

pytestmark = pytest.mark.integration

MALL_FRAMES = ("seq_000121.jpg", "seq_000161.jpg", "seq_000197.jpg")  # held out from tuning (1-100)


def _mall_truth() -> dict[str, float]:
    rows = csv.DictReader(open(data_path("crowd", "mall", "counts.csv")))
    return {r["image"].split("/")[-1]: float(r["count"]) for r in rows}


def test_count_cli_json_is_one_array_in_input_order_and_near_ground_truth():
    """The CLI runs the combined counter (`clearsight.vision.crowd`, the same core as the Python API and video)."""
    from clearsight.cli import app

    frames = [data_path("crowd", "mall", "frames", n) for n in reversed(MALL_FRAMES)]
    roi = data_path("crowd", "mall", "roi_mask.png")
    r = CliRunner().invoke(app, ["count", *map(str, frames), "--roi", str(roi), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [o["image"] for o in out] == [str(f) for f in frames]
    for o in out:
        assert set(o) == {"image", "count", "method"}
        assert isinstance(o["count"], (int, float))
        assert o["method"] in ("detector", "density", "fused")
    truth = _mall_truth()
    errors = [abs(o["count"] - truth[f.name]) for o, f in zip(out, frames)]
    # held-out Mall MAE measured by bench/crowd.py is ~2; a single frame may be off by a few
    assert max(errors) <= 7, errors
    assert sum(errors) / len(errors) <= 4.5, errors


def test_roi_mask_of_another_size_is_a_clear_error():
    from clearsight.cli import app

    img = data_path("crowd", "shanghaitech", "part_B_test", "images", "IMG_1.jpg")  # 1024x768
    roi = data_path("crowd", "mall", "roi_mask.png")  # 640x480
    r = CliRunner().invoke(app, ["count", str(img), "--roi", str(roi), "--json"])
    assert r.exit_code == 2
    assert "ROI mask is 640x480 but the image is 1024x768" in r.output
    assert "[" not in r.stdout  # no partial answer
