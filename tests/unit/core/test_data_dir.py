"""Biometric data at rest: private directories, keys apart from the data they protect."""

from __future__ import annotations

import stat

import pytest

from clearsight.config import Settings

pytestmark = pytest.mark.unit


def _mode(p) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_data_and_secrets_dirs_are_private(tmp_path):
    s = Settings(data_dir=tmp_path / "data", secrets_dir=tmp_path / "secrets")
    assert _mode(s.ensure_data_dir()) == 0o700
    assert _mode(s.ensure_secrets_dir()) == 0o700
    (tmp_path / "old").mkdir(mode=0o755)
    assert _mode(Settings(data_dir=tmp_path / "old").ensure_data_dir()) == 0o700  # tightened on open


def test_template_keys_live_outside_the_data_dir_by_default(tmp_path):
    s = Settings(data_dir=tmp_path / "data", secrets_dir=tmp_path / "secrets")
    key = s.template_key_file()
    assert key.parent == tmp_path / "secrets"
    assert tmp_path / "data" not in key.parents


def test_an_existing_data_dir_keeps_its_key_ring(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "template_keys.json").write_text("{}")
    assert Settings(data_dir=data, secrets_dir=tmp_path / "secrets").template_key_file() == data / "template_keys.json"


def test_what_the_command_line_creates_is_private(tmp_path):
    """The CLI (and so `clearsight serve`) sets umask 077: databases, keys and logs it creates are 0600."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "CLEARSIGHT_SECRETS_DIR": str(tmp_path / "secrets")}
    done = subprocess.run([sys.executable, "-m", "clearsight.cli", "keys", "create", "--role", "admin",
                           "--data-dir", str(tmp_path / "data")], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert files and all(_mode(p) == 0o600 for p in files), [(p.name, oct(_mode(p))) for p in files]
    assert _mode(tmp_path / "data") == 0o700


def test_each_data_dir_has_its_own_secrets_dir_by_default(tmp_path):
    """The audit key records where its chain starts and a rotation retires keys: two data
    dirs must never share key files unless someone configures it."""
    a = Settings(data_dir=tmp_path / "a", secrets_dir=None)
    b = Settings(data_dir=tmp_path / "b", secrets_dir=None)
    assert a.secrets_path == tmp_path / "a-keys" and b.secrets_path == tmp_path / "b-keys"
    assert a.audit_key_file() != b.audit_key_file()
