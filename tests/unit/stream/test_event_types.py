"""Event types are declared, documented and checked: a rule can only name a type someone emits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clearsight.apps.compose import camera_event_types, check_rule_event_types, known_event_types
from clearsight.rules.engine import RuleError, parse_rules
from clearsight.stream.config import parse_camera

DOCS = Path(__file__).resolve().parents[3] / "docs" / "events.md"


def test_every_known_event_type_is_documented():
    documented = set(re.findall(r"^\| `([a-z_]+(?:\.[a-z_]+)*)` \|", DOCS.read_text(), flags=re.M))
    missing = sorted(set(known_event_types()) - documented)
    assert not missing, f"docs/events.md does not describe {missing}"


def test_unknown_types_and_empty_globs_are_refused_with_the_known_list():
    with pytest.raises(RuleError, match=r"vehicle\.stoped.*known types: .*zone\.enter"):
        check_rule_event_types(parse_rules([{"name": "r", "when": {"type": "vehicle.stoped"}}]))
    with pytest.raises(RuleError, match=r"'nosuch\.\*'"):
        check_rule_event_types(parse_rules([{"name": "r", "when": {"type": ["zone.enter", "nosuch.*"]}}]))


def test_types_no_camera_emits_are_warned_about_not_refused():
    cam = parse_camera({"name": "door", "source": "x.mp4",
                        "zones": [{"name": "hall", "polygon": [[0, 0], [10, 0], [10, 10]]}]})
    assert {"zone.enter", "zone.exit", "track.end", "camera.down"} <= camera_event_types(cam)
    assert "line.cross" not in camera_event_types(cam) and "zone.dwell" not in camera_event_types(cam)
    rules = parse_rules([{"name": "in", "when": {"type": "zone.*"}}, {"name": "cross", "when": {"type": "line.cross"}}])
    warnings = check_rule_event_types(rules, [cam])
    assert len(warnings) == 1 and "'line.cross'" in warnings[0] and "cross" in warnings[0]


def test_an_analysers_declared_types_count_for_the_cameras_that_use_it():
    cam = parse_camera({"name": "gate", "source": "x.mp4", "watchlist": {"group": "vip"}})
    assert "watchlist.match" in camera_event_types(cam)
    assert known_event_types()["watchlist.match"].source == "watchlist"
