"""`clearsight kyc` on a composed, photographed specimen document (an LFW face): exit codes
(0 pass, 1 fail, 3 review, 2 bad input), JSON, never a pass without --video, audited."""

from __future__ import annotations

import json

import pytest

from tests.conftest import data_path

pytestmark = pytest.mark.integration

LFW = ("faces", "lfw_gray", "images")


def test_cli_kyc_challenge_and_check_without_video(tmp_path):
    from typer.testing import CliRunner

    from clearsight.apps.kyc.specimen import compose, photograph
    from clearsight.cli import app
    from clearsight.face.challenge import ACTIONS
    from clearsight.io import load_image

    run = CliRunner().invoke
    r = run(app, ["kyc", "--challenge", "--json"])
    assert r.exit_code == 0, r.output
    steps = json.loads(r.stdout)["steps"]
    assert len(steps) == 3 == len(set(steps)) and set(steps) <= set(ACTIONS)

    portrait = load_image(data_path(*LFW, "Abdullah_Gul", "Abdullah_Gul_0001.jpg"))
    doc = tmp_path / "id.jpg"
    import cv2

    cv2.imwrite(str(doc), cv2.cvtColor(photograph(compose(portrait, 9).page, seed=9), cv2.COLOR_RGB2BGR))
    selfie = data_path(*LFW, "Abdullah_Gul", "Abdullah_Gul_0002.jpg")
    r = run(app, ["kyc", str(doc), str(selfie), "--json"])
    assert r.exit_code in (1, 3), r.output  # never 0 without an active challenge
    out = json.loads(r.stdout)
    assert out["decision"] in ("review", "fail") and {"pass": 0, "fail": 1, "review": 3}[out["decision"]] == r.exit_code
    assert out["checks"]["document"]["portrait_found"] and out["checks"]["selfie_vs_portrait"]["decision"] == "match"
    r = run(app, ["kyc", str(doc)])
    assert r.exit_code == 2 and "selfie" in r.output
    r = run(app, ["kyc", str(doc), "--video", str(selfie)])
    assert r.exit_code == 2 and "--steps" in r.output

    from clearsight.config import get_settings
    from clearsight.gallery import Gallery

    with Gallery.open(get_settings()) as g:
        (entry,) = g.audit_entries(action="kyc.decision", target=out["session_id"])
        assert entry.outcome == out["decision"] and entry.actor.startswith("cli")
