"""Gallery.verify: 1:1 against a claimed identity on real faces (LFW, grayscale),
with the consent check and the audit entry that log-in, KYC and face-pay rely on."""

from __future__ import annotations

import json

import pytest

from clearsight.errors import InputError
from clearsight.face.verification import operating_point
from clearsight.gallery import ConsentRequiredError, Gallery, NotFoundError
from clearsight.types import Decision
from tests.integration.gallery.conftest import img

pytestmark = pytest.mark.integration


@pytest.fixture
def gallery(pipeline):
    g = Gallery.open(pipeline=pipeline)
    yield g
    g.close()


def enrolled(gallery: Gallery, name: str, purpose: str = "login", photos: tuple[int, ...] = (1, 2)) -> str:
    ident = gallery.create_identity(name, name.replace("_", " "), actor="registrar")
    gallery.add_consent(ident.id, purpose, "consent", name, actor="registrar")
    for n in photos:
        gallery.enrol(ident.id, img(name, n), "registrar")
    return ident.id


def last_verify(gallery: Gallery):  # noqa: ANN201
    return gallery.audit_entries(action="verify", newest_first=True, limit=1)[0]


def test_same_person_matches_and_names_one_of_their_templates(gallery):
    powell = enrolled(gallery, "Colin_Powell")
    enrolled(gallery, "George_W_Bush")
    own = {t["template_id"] for t in gallery.export_identity(powell, "dpo")["templates"]}
    v = gallery.verify(powell, img("Colin_Powell", 4), "login", "kiosk-1")
    point = operating_point(gallery.model_id, "balanced")
    assert v.decision is Decision.MATCH and v.match
    assert v.similarity >= v.threshold == point.threshold and v.target_fmr == point.target_fmr
    assert v.identity_id == powell and v.template_id in own and v.model == gallery.model_id
    # the same probe as an embedding gives the same answer
    probe = gallery.pipeline.primary_template(img("Colin_Powell", 4)).embedding
    again = gallery.verify(powell, probe, "login", "kiosk-1")
    assert again.similarity == pytest.approx(v.similarity, abs=1e-5) and again.template_id == v.template_id


def test_different_person_does_not_match_even_at_the_lenient_point(gallery):
    powell = enrolled(gallery, "Colin_Powell")
    bush = enrolled(gallery, "George_W_Bush")
    for probe in (img("George_W_Bush", 4), img("Tony_Blair", 1)):
        v = gallery.verify(powell, probe, "login", "kiosk-1", operating_point="lenient")
        assert v.decision is Decision.NO_MATCH and not v.match and v.similarity < v.threshold
        assert v.operating_point == "lenient"
    # Bush's own photo still matches Bush: no_match above is about the claim, not the face
    assert gallery.verify(bush, img("George_W_Bush", 4), "login", "kiosk-1").match


def test_without_consent_for_the_purpose_verification_is_refused_and_audited(gallery):
    powell = enrolled(gallery, "Colin_Powell", purpose="access")
    with pytest.raises(ConsentRequiredError):
        gallery.verify(powell, img("Colin_Powell", 4), "facepay", "till-3")
    e = last_verify(gallery)
    assert (e.actor, e.purpose, e.target, e.outcome) == ("till-3", "facepay", powell, "refused")
    # a withdrawn consent refuses too
    consent = gallery.list_consents(powell)[0]
    assert gallery.verify(powell, img("Colin_Powell", 4), "access", "door-1").match
    gallery.withdraw_consent(consent.id, "dpo")
    with pytest.raises(ConsentRequiredError):
        gallery.verify(powell, img("Colin_Powell", 4), "access", "door-1")
    assert last_verify(gallery).outcome == "refused"


def test_erased_or_unknown_identity_is_not_found_and_audited(gallery):
    powell = enrolled(gallery, "Colin_Powell")
    gallery.erase_identity(powell, "dpo")
    with pytest.raises(NotFoundError):
        gallery.verify(powell, img("Colin_Powell", 4), "login", "kiosk-1")
    e = last_verify(gallery)
    assert (e.target, e.outcome, e.details) == (powell, "rejected", {"error": "not_found"})
    with pytest.raises(NotFoundError):
        gallery.verify("no-such-id", img("Colin_Powell", 4), "login", "kiosk-1")


def test_identity_without_a_face_and_probe_without_a_face_are_rejected(gallery):
    import numpy as np

    bare = gallery.create_identity(None, "No face yet", actor="registrar")
    gallery.add_consent(bare.id, "kyc", "contract", "bank", actor="registrar")
    with pytest.raises(NotFoundError):
        gallery.verify(bare.id, img("Colin_Powell", 4), "kyc", "bank-app")
    assert last_verify(gallery).details["error"] == "no_templates"
    powell = enrolled(gallery, "Colin_Powell", purpose="kyc")
    with pytest.raises(InputError):
        gallery.verify(powell, np.full((200, 200, 3), 128, np.uint8), "kyc", "bank-app")
    assert (last_verify(gallery).outcome, last_verify(gallery).details) == ("rejected", {"error": "no_face"})


def test_audit_entry_records_the_score_never_the_vector(gallery):
    powell = enrolled(gallery, "Colin_Powell")
    v = gallery.verify(powell, img("Colin_Powell", 4), "login", "kiosk-1", operating_point="strict")
    e = last_verify(gallery)
    assert (e.actor, e.action, e.purpose, e.target) == ("kiosk-1", "verify", "login", powell)
    assert e.outcome == v.decision.value
    assert e.details == {"similarity": round(v.similarity, 4), "operating_point": "strict",
                         "model": gallery.model_id, "template_id": v.template_id}
    assert not any(isinstance(x, list) for x in e.details.values())
    assert len(json.dumps(e.to_dict())) < 1000  # no 128-float template hiding anywhere
    assert gallery.verify_audit().ok
