"""Rules as data: validation, conditions, counts, cool-downs; the router's fan-out."""

from __future__ import annotations

import pytest

from clearsight.rules import EventRouter, MemorySink, RuleEngine, RuleError, make_event, parse_rules
from clearsight.rules.events import event_from_dict, event_to_dict

pytestmark = pytest.mark.unit


def ev(type_, t, tid=1, cam="cam", **data):
    return make_event(type_, cam, t, (tid,), None, **data)


def test_rules_validate_with_field_names():
    with pytest.raises(RuleError, match="when"):
        parse_rules([{"name": "x"}])
    with pytest.raises(RuleError, match="unknown operator"):
        parse_rules([{"name": "x", "when": {"type": "a", "fields": {"s": {"approx": 1}}}}])
    with pytest.raises(RuleError, match="unique"):
        parse_rules([{"name": "x", "when": {"type": "a"}}, {"name": "x", "when": {"type": "b"}}])
    with pytest.raises(RuleError, match="exec: Extra inputs"):
        parse_rules([{"name": "x", "when": {"type": "a"}, "exec": "rm -rf /"}])


def test_conditions_on_type_zone_fields_and_duration():
    eng = RuleEngine(parse_rules([
        {"name": "door-dwell", "when": {"type": "zone.dwell", "zone": "door", "min_duration": 10}},
        {"name": "strong-match", "when": {"type": "watchlist.*", "fields": {"similarity": {"gte": 0.9}, "group": "vip"}}},
    ]))
    assert eng.process(ev("zone.dwell", 0, zone="door", duration_s=5)) == []
    assert eng.process(ev("zone.dwell", 0, zone="window", duration_s=50)) == []
    fired = eng.process(ev("zone.dwell", 1, zone="door", duration_s=12))
    assert [r.name for r, _ in fired] == ["door-dwell"]
    alert = fired[0][1]
    assert alert.type == "alert" and alert.data["trigger"] == "zone.dwell" and alert.data["event"]["duration_s"] == 12
    assert eng.process(ev("watchlist.match", 2, similarity=0.95, group="staff")) == []
    assert eng.process(ev("watchlist.match", 2, similarity=0.85, group="vip")) == []
    assert eng.process(ev("watchlist.match", 2, similarity="high", group="vip")) == []  # type mismatch: no crash
    assert len(eng.process(ev("watchlist.match", 2, similarity=0.95, group="vip"))) == 1


def test_count_within_window_and_distinct_tracks():
    eng = RuleEngine(parse_rules([{"name": "crowd", "when": {"type": "zone.enter", "count": {"at_least": 3, "within_s": 10, "distinct_tracks": True}}}]))
    assert eng.process(ev("zone.enter", 0, tid=1)) == []
    assert eng.process(ev("zone.enter", 1, tid=1)) == []  # same person again: still 1 distinct
    assert eng.process(ev("zone.enter", 2, tid=2)) == []
    assert eng.process(ev("zone.enter", 20, tid=3)) == []  # the first two fell out of the window
    assert eng.process(ev("zone.enter", 21, tid=4)) == []
    fired = eng.process(ev("zone.enter", 22, tid=5))
    assert len(fired) == 1 and fired[0][1].data["count"] == 3


def test_cooldown_per_camera_and_per_track():
    eng = RuleEngine(parse_rules([
        {"name": "cam", "when": {"type": "line.cross"}, "cooldown_s": 30},
        {"name": "trk", "when": {"type": "line.cross"}, "cooldown_s": 30, "cooldown_scope": "track"},
    ]))
    names = lambda evs: sorted(r.name for r, _ in evs)  # noqa: E731
    assert names(eng.process(ev("line.cross", 0, tid=1))) == ["cam", "trk"]
    assert names(eng.process(ev("line.cross", 5, tid=2))) == ["trk"]
    assert names(eng.process(ev("line.cross", 6, tid=1))) == []
    assert names(eng.process(ev("line.cross", 6, tid=1, cam="other"))) == ["cam", "trk"]
    assert names(eng.process(ev("line.cross", 31, tid=1))) == ["cam", "trk"]


def test_router_sends_events_by_selection_and_alerts_by_action():
    everything, alerts_only, zones = MemorySink(), MemorySink(), MemorySink()
    everything.name, alerts_only.name, zones.name = "all", "alerts", "zones"
    router = EventRouter(parse_rules([{"name": "r", "when": {"type": "zone.enter"}, "actions": ["alerts"]}]),
                         [(everything, "all"), (alerts_only, "none"), (zones, ["zone.*"])])
    router.emit(ev("face.seen", 0))
    router.emit(ev("zone.enter", 1, zone="a"))
    assert [e.type for e in everything.events] == ["face.seen", "zone.enter"]
    assert [e.type for e in alerts_only.events] == ["alert"]
    assert [e.type for e in zones.events] == ["zone.enter"]


def test_broken_sink_does_not_stop_the_others():
    class Broken:
        name = "broken"

        def emit(self, e):
            raise RuntimeError("disk full")

        def close(self):
            pass

    ok = MemorySink()
    router = EventRouter([], [(Broken(), "all"), (ok, "all")])
    router.emit(ev("face.seen", 0))
    assert len(ok.events) == 1 and router.errors == 1 and "disk full" in router.last_error


def test_event_dict_roundtrip_with_snapshot():
    import numpy as np

    e = make_event("face.seen", "c", 1.5, (3,), np.full((8, 8, 3), 128, np.uint8), score=np.float32(0.5), box={"x1": 1})
    assert e.snapshot_jpeg[:2] == b"\xff\xd8"
    d = event_to_dict(e, snapshot=True)
    assert d["data"]["score"] == 0.5 and isinstance(d["data"]["score"], float)
    back = event_from_dict(d)
    assert back == e
