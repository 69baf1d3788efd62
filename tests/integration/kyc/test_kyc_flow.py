"""KYC on composed specimen documents (LFW faces, ICAO specimen-style MRZs, photographed:
perspective, turn, uneven light, blur, JPEG), with the real models: the portrait is
found, the MRZ is read by PP-OCR and checked, a sign-up never passes without an
active liveness proof, and a face enrolled under another name is caught and audited."""

from __future__ import annotations

import pytest

from tests.conftest import data_path

pytestmark = pytest.mark.integration

LFW = ("faces", "lfw_gray", "images")


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    from clearsight.apps.kyc.specimen import compose, photograph
    from clearsight.face.document import DocumentReader
    from clearsight.face.pipeline import FacePipeline
    from clearsight.io import load_image

    portrait = load_image(data_path(*LFW, "Abdullah_Gul", "Abdullah_Gul_0001.jpg"))
    selfie = load_image(data_path(*LFW, "Abdullah_Gul", "Abdullah_Gul_0002.jpg"))
    stranger = load_image(data_path(*LFW, "Abdul_Rahman", "Abdul_Rahman_0001.jpg"))
    spec = compose(portrait, 0)
    pipe = FacePipeline()
    return {"pipe": pipe, "spec": spec, "doc": photograph(spec.page, seed=1), "selfie": selfie,
            "stranger": stranger, "reader": DocumentReader(pipe, ocr=False), "compose": compose,
            "photograph": photograph}


def test_portrait_found_on_a_photographed_document_upright_and_upside_down(parts):
    reader, spec = parts["reader"], parts["spec"]
    d = reader.read(parts["doc"])
    assert d.page_found and d.rotation == 0 and d.portrait is not None
    # the holder's portrait, not the small ghost image: about the printed portrait's width on the flattened page
    scale = d.page.shape[1] / spec.page.shape[1]
    x1, y1, x2, y2 = spec.portrait_box
    cx, cy = d.portrait.face.box.center
    assert x1 * scale < cx < x2 * scale and y1 * scale < cy < y2 * scale
    flipped = reader.read(parts["photograph"](spec.page, seed=2, upside_down=True))
    assert flipped.rotation == 180 and flipped.portrait is not None
    assert flipped.portrait.face.box.width > 2 * d.portrait.face.box.width / 3


def test_mrz_read_with_ppocr_and_checked(parts):
    from clearsight.face.document import DocumentReader

    spec = parts["compose"](parts["selfie"], 6)
    d = DocumentReader(parts["pipe"]).read(parts["photograph"](spec.page, seed=6))
    assert d.text and any("UTOPIA" in t for t in d.text)
    assert d.mrz is not None and d.mrz.format == "TD3" and d.mrz.issuing_state == "UTO"
    assert d.mrz.valid, d.mrz.to_dict()
    assert d.mrz.document_number == spec.document_number and d.mrz.surname == spec.surname


def _check(parts, settings, gallery):
    from clearsight.apps.kyc import KycCheck

    return KycCheck(parts["pipe"], gallery, settings, reader=parts["reader"])


@pytest.fixture
def gallery(parts):
    from clearsight.config import get_settings
    from clearsight.gallery import Gallery

    settings = get_settings()
    g = Gallery.open(settings, pipeline=parts["pipe"])
    yield settings, g
    g.close()


def test_kyc_never_passes_without_an_active_liveness_proof(parts, gallery):
    from clearsight.apps.kyc import evidence

    settings, g = gallery
    check = _check(parts, settings, g)
    none = check.run(parts["doc"], parts["selfie"], evidence.NO_LIVENESS, "test")
    assert none.decision != "pass" and none.checks["liveness"]["kind"] == "none"
    assert any("liveness" in r or "look live" in r for r in none.reasons)
    # the 1:1 in ID-photo mode still ran: the same person, at strict
    assert none.checks["selfie_vs_portrait"]["decision"] == "match"
    assert none.checks["selfie_vs_portrait"]["id_photo"] is True
    refused = check.run(parts["doc"], parts["selfie"], evidence.refused(Exception("the challenge failed"), "s1"), "test")
    assert refused.decision == "fail" and any("liveness challenge not passed" in r for r in refused.reasons)
    # a passed proof removes the liveness reasons (no MRZ read here: OCR off, so review at best)
    ok = check.run(parts["doc"], parts["selfie"], evidence.LivenessEvidence("active", True, session_id="s2",
                                                                            reference_frame=parts["selfie"]), "test")
    assert not any("liveness" in r for r in ok.reasons) and ok.decision == "review"
    # a stranger's selfie fails the 1:1 against the portrait
    other = check.run(parts["doc"], parts["stranger"], evidence.NO_LIVENESS, "test")
    assert other.decision == "fail" and other.checks["selfie_vs_portrait"]["decision"] == "no_match"


def test_duplicate_enrolment_under_another_name_fails_and_is_audited(parts, gallery):
    from clearsight.apps.kyc import KycStore, evidence
    from clearsight.apps.kyc.flow import audit_details

    settings, g = gallery
    g.enrol_new_identity("cust-1", "Someone Else", [parts["selfie"]], actor="test", purpose="kyc")
    check = _check(parts, settings, g)
    live = evidence.LivenessEvidence("active", True, session_id="s3", reference_frame=parts["selfie"])
    r = check.run(parts["doc"], parts["selfie"], live, "test")
    assert r.decision == "fail" and r.checks["duplicate"]["found"]
    assert any("already enrolled under another name" in x for x in r.reasons)
    assert r.checks["duplicate"]["mode"] == "decision" and r.checks["duplicate"]["n"] == 1
    search = g.audit_entries(action="search", newest_first=True, limit=1)[0]
    assert search.purpose == "kyc" and search.outcome == "match" and search.details["mode"] == "decision"
    # the decision and the consumed proof go to the same audit chain, without names or numbers
    store = KycStore.open(settings)
    try:
        sess = store.create_session("owner", "test", "s3")
        store.claim("owner", sess.id)
        evidence.audit_consumed(store, "test", "kyc", live, sess.id)
        store.decide(sess.id, "test", r.decision, list(r.reasons), r.checks, audit_details(r))
        assert store.get_session("owner", sess.id).decision == "fail"
    finally:
        store.close()
    rows = {e.action: e for e in g.audit_entries(newest_first=True, limit=5)}
    assert rows["kyc.decision"].outcome == "fail" and rows["kyc.decision"].target == sess.id
    assert rows["liveness.consume"].outcome == "passed" and rows["liveness.consume"].details["for"] == sess.id
    assert "Someone" not in str(rows["kyc.decision"].details) and g.verify_audit().ok
