"""Alert timing on scenario videos composed from real driver frames (see scenarios.py).

Every expected alert must fire inside [due, due + tolerance] and no other alert of
the scripted kinds may fire, at 15, 25 and 30 fps.
"""

from __future__ import annotations

import pytest

from clearsight.apps.dms.monitor import DriverMonitor
from clearsight.apps.dms.scenarios import FrameBank, detail_of, drowsy_scenario, expected_alerts, standard_scenarios
from tests.conftest import data_path

pytestmark = pytest.mark.integration

SCRIPTED = {"dms.microsleep", "dms.distracted", "dms.absent", "dms.drowsy", "dms.yawn"}


@pytest.fixture(scope="module")
def bank():
    return FrameBank.from_dataset(data_path("dms", "drowsiness_yawn_eyes"))


def _run(bank, scenario, fps):
    with DriverMonitor() as mon:
        return [e for rgb, t, _ in bank.frames_of(scenario, fps) for e in mon.feed(rgb, t).events]


def _check(scenario, fps, events):
    tol = 0.1 + 1.0 / fps  # one frame of tracking latency + the frame interval
    expected = expected_alerts(scenario, fps)
    got = [(e.type, detail_of(e), e.time) for e in events if e.type in SCRIPTED]
    assert len(got) == len(expected), f"{scenario.name}@{fps}: expected {expected}, got {got}"
    for exp, (typ, detail, t) in zip(expected, got):
        assert (typ, detail) == (exp.type, exp.detail), f"{scenario.name}@{fps}: {got} vs {expected}"
        assert exp.time - 1e-6 <= t <= exp.time + tol, f"{scenario.name}@{fps}: {typ} at {t}, due {exp.time}"


@pytest.mark.parametrize("fps", [15, 25, 30])
@pytest.mark.parametrize("scenario", standard_scenarios(), ids=lambda s: s.name)
def test_alert_fires_inside_its_window_and_never_outside(bank, scenario, fps):
    _check(scenario, fps, _run(bank, scenario, fps))


def test_ground_truth_is_in_seconds_not_frames():
    sc = next(s for s in standard_scenarios() if s.name == "closed_1.5s")
    assert [e.time for e in expected_alerts(sc, 15)] == [7.0]
    assert [e.time for e in expected_alerts(sc, 30)] == [7.0]


@pytest.mark.slow
def test_drowsy_on_perclos(bank):
    sc = drowsy_scenario()
    _check(sc, 15, _run(bank, sc, 15))


@pytest.mark.slow
def test_agitation_follows_head_motion_energy(bank):
    from clearsight.apps.dms.scenarios import CALIB, no_event_scenario, restless_scenario

    sc = restless_scenario()
    with DriverMonitor() as mon:
        res = [mon.feed(rgb, t) for rgb, t, _ in bank.frames_of(sc, 15)]
    ag = [e for r in res for e in r.events if e.type == "dms.agitated"]
    assert len(ag) == 1 and CALIB + 5.0 <= ag[0].time <= CALIB + 12.0
    assert max(r.agitation.index for r in res if r.signals.time < CALIB) < 0.3
    calm = no_event_scenario(0.75)  # blinks and 1.2 s mirror checks: never agitated
    with DriverMonitor() as mon:
        assert not [e for rgb, t, _ in bank.frames_of(calm, 15) for e in mon.feed(rgb, t).events if e.type == "dms.agitated"]
