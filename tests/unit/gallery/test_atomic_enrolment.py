"""Issue 19 item 13: a refused enrolment of a new identity leaves no identity behind.

`enrol_new_identity` creates the identity, its consent and its templates in one
transaction, on SQLite and PostgreSQL. Real photos (no face, too small) are in
tests/integration/gallery/test_atomic_enrolment_real.py."""

from __future__ import annotations

import numpy as np
import pytest

from clearsight.errors import IncompatibleTemplatesError, InputError
from clearsight.gallery import ConflictError, ConsentRequiredError
from clearsight.types import Embedding

from .helpers import MODEL, emb, near

pytestmark = pytest.mark.unit


def test_no_consent_creates_nothing(gallery):
    with pytest.raises(ConsentRequiredError):
        gallery.enrol_new_identity("emp-1", "Ada", [emb(1)], actor="hr")
    assert gallery.count_identities() == 0
    refused = gallery.audit_entries(action="enrol")
    assert [e.outcome for e in refused] == ["refused"] and refused[0].details == {"error": "consent_required"}
    assert gallery.count_audit_entries(action="identity.create") == 0
    assert gallery.verify_audit().ok


def test_every_face_refused_creates_nothing(gallery):
    bad = Embedding(np.full(128, np.nan, np.float32), MODEL)
    with pytest.raises(InputError):
        gallery.enrol_new_identity("emp-1", "Ada", [bad], actor="hr", purpose="login")
    with pytest.raises(InputError):
        gallery.enrol_new_identity(None, "Ada", [Embedding(emb(1).vector, "other-model")], actor="hr",
                                    purpose="login")
    assert gallery.count_identities() == 0
    assert gallery.list_identities() == [] and gallery.count_audit_entries(action="consent.grant") == 0


def test_accepted_faces_commit_with_the_identity_and_consent(gallery):
    out = gallery.enrol_new_identity("emp-2", "Bob", [emb(2), Embedding(emb(3).vector, "other-model"), near(2)],
                                      actor="hr", purpose="access", attributes={"team": "ops"})
    assert [o.ok for o in out.outcomes] == [True, False, True]
    assert out.outcomes[1].error.code == IncompatibleTemplatesError.code
    ident = gallery.get_identity(out.identity.id)
    assert ident.template_count == 2 and ident.external_id == "emp-2" and ident.attributes == {"team": "ops"}
    assert out.identity.template_count == 2
    [consent] = gallery.list_consents(ident.id)
    assert consent.purpose == "access" and consent.granted_by == "hr"
    assert gallery.search(emb(2), "access", "door")[0].identity_id == ident.id
    assert [e.action for e in gallery.audit_entries(target=ident.id)] == [
        "identity.create", "consent.grant", "enrol", "enrol", "match"]
    assert gallery.verify_audit().ok


def test_external_id_conflict_creates_nothing(gallery):
    gallery.enrol_new_identity("emp-3", "Cy", [emb(4)], actor="hr", purpose="login")
    with pytest.raises(ConflictError):
        gallery.enrol_new_identity("emp-3", "Someone else", [emb(5)], actor="hr", purpose="login")
    assert gallery.count_identities() == 1
    assert gallery.stats()["templates"] == 1
