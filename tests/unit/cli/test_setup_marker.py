"""`clearsight models` while the setup builds the converted models, and the setup's order:
the stamp that makes a re-run instant is written only after the models are built."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clearsight.cli import app
from clearsight.cli.models import SETUP_MARKER, SETUP_RUNNING
from clearsight.config import get_settings
from clearsight.models import all_specs

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def empty_models_dir(tmp_path, monkeypatch):
    """A models dir the setup has not built into yet: every converted model is missing."""
    d = tmp_path / "models"
    d.mkdir()
    monkeypatch.setenv("CLEARSIGHT_MODELS_DIR", str(d))
    get_settings.cache_clear()
    assert any(s.kind == "built" for s in all_specs())
    return d


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _built_rows(output: str) -> list[str]:
    built = {s.name for s in all_specs() if s.kind == "built" and not s.optional}  # opt-in ones may be absent
    return [line for line in output.splitlines() if line.split("  ", 1)[0].strip() in built]


def test_without_a_setup_missing_converted_models_fail(empty_models_dir):
    r = CliRunner().invoke(app, ["models"])
    assert r.exit_code == 3
    rows = _built_rows(r.stdout)
    assert rows and all("FAIL" in row for row in rows)
    assert SETUP_RUNNING not in r.stdout


def test_while_setup_runs_converted_models_say_so(empty_models_dir):
    (empty_models_dir / SETUP_MARKER).write_text(f"{os.getpid()}\n")  # a live process: this one
    r = CliRunner().invoke(app, ["models"])
    rows = _built_rows(r.stdout)
    assert rows and all(SETUP_RUNNING in row and "FAIL" not in row for row in rows)
    assert f"{SETUP_RUNNING}: the converted models are being built" in r.stdout
    # the shipped models are still checked as usual
    assert "blazeface-full-range" in r.stdout and " OK " in r.stdout
    assert r.exit_code == 3  # the converted models are not usable yet


def test_a_marker_left_by_a_killed_setup_is_ignored(empty_models_dir):
    (empty_models_dir / SETUP_MARKER).write_text(f"{_dead_pid()}\n")
    r = CliRunner().invoke(app, ["models"])
    assert SETUP_RUNNING not in r.stdout
    assert all("FAIL" in row for row in _built_rows(r.stdout))


def _fake_checkout(root: Path) -> Path:
    """scripts/setup.sh with the files it hashes, and a venv whose pip does nothing and
    whose `clearsight` records what a user running `clearsight models` would see."""
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    (root / "requirements").mkdir()
    for f in ("pyproject.toml", "requirements/constraints.txt", "requirements/nodeps.txt"):
        (root / f).write_text("pinned\n")
    venv = root / "venv"
    (venv / "bin").mkdir(parents=True)
    stubs = {
        "python": f'exec "{sys.executable}" "$@"\n',
        "pip": "exit 0\n",
        # the real build step would take minutes; what matters is what the world looks like meanwhile
        "clearsight": (
            '[ -f "$CLEARSIGHT_VENV/.setup-stamp" ] && echo "stamp: present" > "$PROBE" || echo "stamp: absent" > "$PROBE"\n'
            f'"{sys.executable}" -m clearsight.cli models >> "$PROBE" 2>&1 || true\n'
        ),
    }
    for name, body in stubs.items():
        p = venv / "bin" / name
        p.write_text("#!/bin/sh\n" + body)
        p.chmod(0o755)
    return venv


@pytest.mark.skipif(shutil.which("bash") is None, reason="setup.sh needs bash")
def test_setup_writes_the_stamp_last_and_marks_itself_running(tmp_path, empty_models_dir):
    venv = _fake_checkout(tmp_path / "checkout")
    probe = tmp_path / "probe.txt"
    env = {**os.environ, "CLEARSIGHT_VENV": str(venv), "PROBE": str(probe), "PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(["bash", str(tmp_path / "checkout" / "scripts" / "setup.sh")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    seen = probe.read_text()
    assert seen.startswith("stamp: absent")  # building models: not yet declared done
    assert all(SETUP_RUNNING in row for row in _built_rows(seen)), seen
    assert (venv / ".setup-stamp").is_file()  # written at the end
    assert not (empty_models_dir / SETUP_MARKER).exists()  # and the marker is gone
    after = CliRunner().invoke(app, ["models"])
    assert SETUP_RUNNING not in after.stdout
