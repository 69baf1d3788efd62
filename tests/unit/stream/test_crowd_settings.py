"""The crowd analyser's camera-file section: typed, described, validated, and every event type documented."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.unit


def _walk(model, seen=None):
    from pydantic import BaseModel

    seen = seen if seen is not None else {}
    if model in seen:
        return seen
    seen[model] = [n for n, f in model.model_fields.items() if not (f.description or "").strip()]
    for f in model.model_fields.values():
        ann = f.annotation
        for cand in (ann, *getattr(ann, "__args__", ())):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                _walk(cand, seen)
    return seen


def test_every_crowd_setting_is_described():
    from clearsight.apps.crowd.settings import CrowdSettings

    missing = {m.__name__: n for m, n in _walk(CrowdSettings).items() if n}
    assert not missing


def test_camera_file_section_is_validated():
    from clearsight.apps.compose import check_plugins
    from clearsight.stream.config import CameraConfigError, parse_camera

    base = {"name": "hall", "source": "x.mp4", "zones": [{"name": "hall", "polygon": [[0, 0], [10, 0], [10, 10]]}]}
    ok = parse_camera({**base, "analysers": {"crowd": {"cluster": {"min_people": 5, "radius": 80, "min_duration_s": 20},
                                                       "capacities": [{"zone": "hall", "capacity": 40}]}}})
    check_plugins(ok)
    with pytest.raises(CameraConfigError, match="min_people"):
        check_plugins(parse_camera({**base, "analysers": {"crowd": {"cluster": {"min_people": 1}}}}))
    with pytest.raises((CameraConfigError, ValueError), match="raduis|extra"):
        check_plugins(parse_camera({**base, "analysers": {"crowd": {"cluster": {"raduis": 80}}}}))


def test_capacity_of_an_unknown_zone_is_refused():
    from clearsight.apps.crowd import CrowdAnalyser, CrowdSettings
    from clearsight.errors import InputError

    s = CrowdSettings.model_validate({"capacities": [{"zone": "lobby", "capacity": 3}]})
    with pytest.raises(InputError, match="lobby"):
        CrowdAnalyser(s, camera="c", zones=[])


def test_every_emitted_type_is_documented_in_the_crowds_section():
    from clearsight.apps.crowd import EMITS
    from clearsight.stream.analysers import analyser_spec

    assert dict(analyser_spec("crowd").emits) == EMITS
    text = (REPO / "docs" / "events.md").read_text()
    section = text.split("## Crowds", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", section, flags=re.M))
    assert set(EMITS) == documented
