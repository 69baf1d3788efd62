import json

import pytest
from typer.testing import CliRunner

from clearsight.cli import app
from clearsight.config import get_settings
from clearsight.server.auth import KeyStore
from clearsight.cli.server import ensure_admin_key

pytestmark = pytest.mark.unit


def test_first_start_creates_one_admin_key_only_once(tmp_path):
    s = get_settings()
    key = ensure_admin_key(s)
    assert key and key.startswith("cs_")
    assert ensure_admin_key(s) is None  # second start: nothing new, nothing printed
    store = KeyStore.open(s)
    assert store.authenticate(key).role.value == "admin"


def test_keys_create_list_revoke(tmp_path):
    r = CliRunner()
    d = str(tmp_path / "d")
    out = r.invoke(app, ["keys", "create", "--role", "client", "--name", "kiosk", "--rate-limit", "30", "--data-dir", d, "--json"])
    assert out.exit_code == 0, out.output
    created = json.loads(out.output)
    assert created["role"] == "client" and created["rate_limit"] == 30 and created["key"].startswith("cs_")
    listed = r.invoke(app, ["keys", "list", "--data-dir", d, "--json"])
    rows = json.loads(listed.output)
    assert [k["id"] for k in rows] == [created["id"]] and "key" not in rows[0]
    assert created["key"] not in listed.output
    rv = r.invoke(app, ["keys", "revoke", created["id"], "--data-dir", d])
    assert rv.exit_code == 0 and "revoked" in rv.output
    assert "revoked" in r.invoke(app, ["keys", "list", "--data-dir", d]).output


def test_keys_cli_errors_are_one_line_with_exit_code(tmp_path):
    r = CliRunner()
    d = str(tmp_path / "d")
    bad = r.invoke(app, ["keys", "create", "--role", "root", "--data-dir", d])
    assert bad.exit_code == 2 and "unknown role" in bad.output and "Traceback" not in bad.output
    missing = r.invoke(app, ["keys", "revoke", "nope", "--data-dir", d])
    assert missing.exit_code == 2 and "no API key" in missing.output
