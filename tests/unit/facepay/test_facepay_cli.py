"""`clearsight facepay ...`: gates, the report, and bad input as exit codes with one line on stderr."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from clearsight.cli import app

pytestmark = pytest.mark.unit


def test_facepay_cli_gates_report_and_bad_input(tmp_path):
    run = CliRunner().invoke
    r = run(app, ["facepay", "gate-add", "Central-in1", "--station", "Central", "--direction", "in"])
    assert r.exit_code == 0, r.output
    assert json.loads(run(app, ["facepay", "gates", "--json"]).output)[0]["station"] == "Central"
    assert run(app, ["facepay", "gate-add", "X", "--station", "S", "--direction", "sideways"]).exit_code == 2
    frame = tmp_path / "frame.jpg"
    frame.write_bytes(b"\xff\xd8 not really a jpeg")
    r = run(app, ["facepay", "passage", "Nowhere", str(frame), "--idempotency-key", "cli-key-0001"])
    assert r.exit_code == 4 and "no gate 'Nowhere'" in r.output
    r = run(app, ["facepay", "passage", "Central-in1", str(frame), "--idempotency-key", "cli-key-0001"])
    assert r.exit_code == 2 and "image" in r.output
    assert run(app, ["facepay", "passage", "Central-in1", str(tmp_path / "missing.jpg")]).exit_code == 2
    assert run(app, ["facepay", "top-up", "0" * 32, "100"]).exit_code == 4
    rep = run(app, ["facepay", "report", "--json"])
    assert rep.exit_code == 0 and json.loads(rep.output)["balanced"] is True
    assert json.loads(rep.output)["passages"] == {}  # nothing above was stored
