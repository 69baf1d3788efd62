"""Temporal logic on constructed signal sequences: timing from timestamps, not frame counts."""

from __future__ import annotations

import pytest

from clearsight.apps.dms.alerts import AlertEngine
from clearsight.settings import DmsSettings
from clearsight.apps.dms.signals import FrameConditions, FrameSignals, frame_conditions
from clearsight.apps.dms.state import DriverState
from clearsight.types import HeadPose

pytestmark = pytest.mark.unit

OK = FrameConditions(120.0, 50.0, False, False)


def sig(t: float, openness: float = 0.25, gaze_yaw: float = 0.0, mouth: float = 0.0, face: bool = True) -> FrameSignals:
    if not face:
        return FrameSignals(time=t, face_present=False, conditions=OK)
    return FrameSignals(
        time=t, face_present=True, conditions=OK, eye_openness=(openness, openness), mouth_opening=mouth,
        pose=HeadPose(gaze_yaw, 0.0, 0.0), iris_offset=(0.0, 0.0), gaze=(gaze_yaw, 0.0),
    )


def run(timeline, fps: float, duration: float):
    """timeline(t) -> kwargs for sig(); returns the events."""
    st, al = DriverState(DmsSettings()), AlertEngine(DmsSettings())
    out = []
    n = int(duration * fps)
    for i in range(n):
        t = i / fps
        out += al.update(st.update(sig(t, **timeline(t))))
    return out, st


@pytest.mark.parametrize("fps", [15, 25, 30, 7.3])
def test_microsleep_fires_at_one_second_of_closure_at_any_fps(fps):
    events, _ = run(lambda t: {"openness": 0.05 if 6.0 <= t < 8.0 else 0.25}, fps, 12)
    ms = [e for e in events if e.type == "dms.microsleep"]
    assert len(ms) == 1
    start = next(i / fps for i in range(10_000) if i / fps >= 6.0)
    assert start + 1.0 <= ms[0].time < start + 1.0 + 1.0 / fps + 1e-9


def test_blink_is_counted_not_alerted():
    events, st = run(lambda t: {"openness": 0.05 if (t % 4.0) < 0.2 and t > 6 else 0.25}, 30, 40)
    assert not [e for e in events if e.type == "dms.microsleep"]
    assert st.snapshot.blinks_per_min is not None and 6 <= st.snapshot.blinks_per_min <= 20


def test_long_glance_and_cumulative_distraction():
    events, _ = run(lambda t: {"gaze_yaw": 50.0 if 6.0 <= t < 9.5 else 0.0}, 25, 14)
    d = [e for e in events if e.type == "dms.distracted"]
    assert [e.data["kind"] for e in d] == ["long_glance"] and abs(d[0].time - 9.0) < 1e-6
    # 2.2 s glances every 3 s from t=6: 4 glances = 8.8 s, the 5th crosses 10 s at 18 + 1.2
    def away(t: float) -> bool:  # integer milliseconds: no float drift at segment edges
        ms = round(t * 1000)
        return 6000 <= ms < 21000 and (ms - 6000) % 3000 < 2200

    events, _ = run(lambda t: {"gaze_yaw": 50.0 if away(t) else 0.0}, 25, 24)
    d = [e for e in events if e.type == "dms.distracted"]
    assert [e.data["kind"] for e in d] == ["cumulative"]
    assert 19.2 < d[0].time <= 19.2 + 1 / 25 + 1e-6


def test_calibration_learns_the_road_despite_a_glance():
    # a 2 s glance inside the 5 s calibration: neutral stays on the road, no alert
    events, st = run(lambda t: {"gaze_yaw": 50.0 if 1.0 <= t < 3.0 else 0.0}, 25, 8)
    assert not [e for e in events if e.type == "dms.distracted"]
    assert st.calibration.done and abs(st.calibration.gaze_yaw) < 1e-6


def test_perclos_drowsy_after_a_full_window():
    # 0.8 s closures every 3.8 s after a 6 s calibration: PERCLOS ~0.19
    events, st = run(lambda t: {"openness": 0.05 if t >= 6 and (t - 6) % 3.8 >= 3.0 else 0.25}, 15, 75)
    dr = [e for e in events if e.type == "dms.drowsy"]
    assert len(dr) == 1 and abs(dr[0].time - 60.0) < 1e-6
    assert 0.15 <= dr[0].data["perclos"] <= 0.25
    assert not [e for e in events if e.type == "dms.microsleep"]


def test_yawn_needs_a_second_and_suppresses_microsleep():
    events, _ = run(lambda t: {"mouth": 0.6 if 6 <= t < 10 else 0.0, "openness": 0.05 if 6 <= t < 10 else 0.25}, 30, 12)
    assert [e.type for e in events] == ["dms.yawn"]
    assert abs(events[0].time - 7.0) < 1e-6
    events, _ = run(lambda t: {"mouth": 0.6 if 6 <= t < 6.5 else 0.0}, 30, 12)  # speech-like
    assert not events


def test_absent_after_two_seconds_with_reason():
    events, _ = run(lambda t: {"face": not (6 <= t < 10)}, 25, 12)
    assert [(e.type, e.data["reason"]) for e in events] == [("dms.absent", "no_face")]
    assert abs(events[0].time - 8.0) < 1e-6


def test_timestamps_must_not_go_backwards():
    st = DriverState()
    st.update(sig(1.0))
    with pytest.raises(ValueError):
        st.update(sig(0.5))


def test_dropped_frames_are_not_extrapolated():
    # closed eyes seen at 60 s then no frame for 5 s: PERCLOS counts at most max_frame_gap_s of it
    st = DriverState()
    for i in range(600):
        st.update(sig(i * 0.1))
    st.update(sig(60.0, openness=0.05))
    snap = st.update(sig(65.0))
    assert snap.perclos is not None and snap.perclos < 0.05


def test_frame_conditions_dark_and_blocked():
    import numpy as np

    rng = np.random.default_rng(0)
    textured = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    assert not frame_conditions(textured).blocked
    assert frame_conditions(np.full((48, 64, 3), 20, np.uint8)).blocked
    dark = (textured // 4).astype(np.uint8)
    c = frame_conditions(dark)
    assert c.too_dark and not c.blocked


def test_monitor_rejects_bad_frames_and_backwards_time():
    import numpy as np

    from clearsight.apps.dms.monitor import DriverMonitor, FrameError
    from clearsight.errors import InputError

    with DriverMonitor(eye_model=False) as mon:
        with pytest.raises(FrameError):
            mon.feed(np.zeros((10, 10), np.uint8), 0.0)
        with pytest.raises(InputError):
            mon.feed(np.zeros((48, 64, 3), np.float32), 0.0)
        with pytest.raises(FrameError):
            mon.feed(np.zeros((48, 64, 3), np.uint8), float("nan"))
        r = mon.feed(np.zeros((48, 64, 3), np.uint8), 1.0)
        assert not r.signals.face_present and r.signals.conditions.blocked
        with pytest.raises(FrameError):
            mon.feed(np.zeros((48, 64, 3), np.uint8), 0.5)
