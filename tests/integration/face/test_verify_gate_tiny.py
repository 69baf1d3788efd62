"""Quality-gated verify on real photos: a tiny face is never "same person" (issue #16:
a 26-px face gave "same person", exit 0), in the API and the CLI; the ID-photo mode
accepts a small printed-and-scanned portrait and still tells people apart."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tests.conftest import data_path

pytestmark = pytest.mark.integration

EX = ("faces", "face_recognition_examples", "examples")


def _scaled(path, face_px: float) -> np.ndarray:
    """The photo resized so its largest face is `face_px` wide."""
    from clearsight.face.pipeline import default_pipeline

    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    face = max(default_pipeline().detect(rgb), key=lambda f: f.box.area)
    s = face_px / face.box.width
    return cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)


def _portrait(path, face_px: float) -> bytes:
    """A document portrait: small, print/scan blur, paper contrast, JPEG quality 30 (as bench/identify.py)."""
    small = cv2.cvtColor(_scaled(path, face_px), cv2.COLOR_RGB2GRAY).astype(np.float32)
    small = np.clip(0.85 * cv2.GaussianBlur(small, (0, 0), 0.7) + 18, 0, 255).astype(np.uint8)
    return cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 30])[1].tobytes()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("gate")
    tiny = d / "obama_26px.png"
    cv2.imwrite(str(tiny), cv2.cvtColor(_scaled(data_path(*EX, "obama2.jpg"), 26), cv2.COLOR_RGB2BGR))
    card = d / "obama_card.jpg"
    card.write_bytes(_portrait(data_path(*EX, "obama2.jpg"), 80))
    small_card = d / "obama_card_small.jpg"
    small_card.write_bytes(_portrait(data_path(*EX, "obama2.jpg"), 37))
    other = d / "biden_card.jpg"
    other.write_bytes(_portrait(data_path(*EX, "biden.jpg"), 37))
    return {"selfie": data_path(*EX, "obama.jpg"), "tiny": tiny, "card": card, "small_card": small_card,
            "other_card": other}


def test_a_tiny_face_is_inconclusive_never_a_match(photos):
    from clearsight.face.pipeline import default_pipeline
    from clearsight.face.verification import verify_embeddings
    from clearsight.types import Decision

    pipe = default_pipeline()
    ta, tb = pipe.primary_template(photos["selfie"]), pipe.primary_template(photos["tiny"])
    assert tb.face.box.width < 32
    # what the ungated comparison says (the bug of issue #16) ...
    assert verify_embeddings(ta.embedding, tb.embedding).decision is Decision.MATCH
    # ... and what verify says now, in both modes: the 26-px face is below even the ID-photo gate
    for id_photo in (False, True):
        v = pipe.verify(photos["selfie"], photos["tiny"], "balanced", id_photo=id_photo)
        assert v.decision is Decision.INCONCLUSIVE and not v.is_match
        assert "b:face_too_small" in v.reasons and v.to_dict()["reasons"] == list(v.reasons)


def test_id_photo_mode_accepts_a_document_portrait_and_rejects_another_person(photos):
    from clearsight.face.pipeline import default_pipeline
    from clearsight.types import Decision

    pipe = default_pipeline()
    v = pipe.verify(photos["selfie"], photos["card"], "balanced", id_photo=True)
    assert v.id_photo and v.reasons == () and v.decision is Decision.MATCH
    # a ~35-px printed portrait: too small for the everyday gate, enough for the ID-photo gate
    for card in ("small_card", "other_card"):
        normal = pipe.verify(photos["selfie"], photos[card], "balanced")
        assert normal.decision is Decision.INCONCLUSIVE and "b:face_too_small" in normal.reasons
        assert pipe.verify(photos["selfie"], photos[card], "balanced", id_photo=True).reasons == ()
    w = pipe.verify(photos["selfie"], photos["other_card"], "balanced", id_photo=True)
    assert w.decision is Decision.NO_MATCH


def test_cli_exits_3_when_inconclusive(photos):
    from typer.testing import CliRunner

    from clearsight.cli import app

    run = CliRunner().invoke
    r = run(app, ["verify", str(photos["selfie"]), str(photos["tiny"])])
    assert r.exit_code == 3, r.output
    assert "inconclusive" in r.output and "face_too_small" in r.output and "same person" not in r.output
    r = run(app, ["verify", str(photos["selfie"]), str(photos["tiny"]), "--json", "--id-photo"])
    assert r.exit_code == 3 and json.loads(r.stdout)["decision"] == "inconclusive"
    r = run(app, ["verify", str(photos["selfie"]), str(photos["card"]), "--id-photo"])
    assert r.exit_code == 0 and "same person" in r.output and "ID photo" in r.output
    r = run(app, ["verify", str(photos["selfie"]), str(photos["other_card"]), "--id-photo"])
    assert r.exit_code == 1
