"""One spelling in the public API (enrol, analyse); the 0.1 spellings stay as deprecated aliases."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.unit


def test_cli_enrol_and_its_hidden_deprecated_alias():
    from clearsight.cli import app

    help_text = CliRunner().invoke(app, ["--help"]).output
    assert "enrol " in help_text and "enroll" not in help_text
    old = CliRunner().invoke(app, ["enroll", "--help"])
    assert old.exit_code == 0 and "deprecated" in old.output.lower()


def test_gallery_old_spellings_warn_and_work():
    from tests.unit.gallery.helpers import emb, open_gallery

    g = open_gallery()
    try:
        ada = g.create_identity(None, "Ada", actor="t")
        g.add_consent(ada.id, "login", "consent", "Ada", actor="t")
        with pytest.warns(DeprecationWarning, match="enrol_embedding"):
            g.enroll_embedding(ada.id, emb(1), "t")
        assert g.get_identity(ada.id).template_count == 1
    finally:
        g.close()


def test_rest_dms_analyse_and_the_deprecated_path():
    from clearsight.config import Settings
    from clearsight.server import create_app
    from clearsight.settings import ServerSettings

    paths = create_app(Settings(), ServerSettings(warmup=False)).openapi()["paths"]
    assert "/v1/dms/analyse" in paths and not paths["/v1/dms/analyse"]["post"].get("deprecated")
    assert paths["/v1/dms/analyze"]["post"]["deprecated"] is True
