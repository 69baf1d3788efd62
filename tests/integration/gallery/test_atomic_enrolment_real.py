"""Issue 19 item 13 on real photos: enrolling a new person whose every photo is refused
(no face, face too small) creates no identity; the CLI's `enroll --name` must do the same."""

from __future__ import annotations

import numpy as np
import pytest

from clearsight.errors import NoFaceError
from clearsight.gallery import ConsentRequiredError, Gallery, QualityRejectedError
from tests.integration.gallery.conftest import img

pytestmark = pytest.mark.integration


@pytest.fixture
def gallery(pipeline):
    g = Gallery.open(pipeline=pipeline)
    yield g
    g.close()


def test_refused_photos_leave_no_identity(gallery):
    from PIL import Image

    blank = np.full((200, 200, 3), 128, np.uint8)
    small = np.asarray(Image.open(img("Colin_Powell", 1)).convert("RGB").resize((62, 62)))
    with pytest.raises(NoFaceError):
        gallery.enrol_new_identity("emp-1", "Colin", [blank], actor="r", purpose="access")
    with pytest.raises(QualityRejectedError) as e:
        gallery.enrol_new_identity("emp-1", "Colin", [small], actor="r", purpose="access")
    assert "face_too_small" in e.value.reasons
    with pytest.raises(ConsentRequiredError):
        gallery.enrol_new_identity("emp-1", "Colin", [img("Colin_Powell", 1)], actor="r")
    assert gallery.count_identities() == 0
    assert [x.outcome for x in gallery.audit_entries(action="enrol")] == ["rejected", "rejected", "refused"]
    # one good photo next to a refused one: the identity exists with exactly that face
    out = gallery.enrol_new_identity("emp-1", "Colin", [blank, img("Colin_Powell", 1)], actor="r",
                                      purpose="access")
    assert [o.ok for o in out.outcomes] == [False, True] and out.outcomes[0].error.code == NoFaceError.code
    assert gallery.count_identities() == 1 and out.identity.template_count == 1
    assert gallery.search(img("Colin_Powell", 2), "access", "door", top_k=1)[0].identity_id == out.identity.id
    assert gallery.verify_audit().ok


def test_cli_enroll_without_consent_leaves_no_identity():
    from typer.testing import CliRunner

    from clearsight.cli import app

    r = CliRunner().invoke(app, ["enrol", str(img("Colin_Powell", 1)), "--name", "Colin Powell",
                                 "--actor", "officer"])
    assert r.exit_code == 5, r.output  # consent required
    with Gallery.open() as g:
        assert g.count_identities() == 0
