"""Crowd incidents on composed clips: real people (cut from TUD-Campus) over the real, emptied Mall scene.

Short clips at 6 fps, density off (the clips are sparse; density is tested on real
images elsewhere): a stationary cluster must fire within 1 s of the scripted time
and never on people who keep walking; flow must point where the script walks.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

FPS = 6.0


@pytest.fixture(scope="module")
def material(shared_data):
    from clearsight.apps.crowd import scenarios as sc

    bg = sc.mall_background(shared_data, frames=15)
    people = sc.cut_people(shared_data, 6, check_on=bg)
    if len(people) < 6:
        pytest.skip("not enough isolated people found in TUD-Campus")
    return bg, people


def _settings(**cluster):
    from clearsight.apps.crowd.settings import CrowdSettings

    return CrowdSettings.model_validate({"count": {"density": False, "every_s": 1.0}, "flow": {"every_s": 1.0},
                                         "cluster": {"min_people": 4, "radius": 120, "min_duration_s": 3.0, **cluster}})


def test_stationary_cluster_fires_within_a_second(material):
    from clearsight.apps.crowd import scenarios as sc

    bg, people = material
    scene = sc.gathering(bg, people, k=4, stop_s=2.5, hold_s=3.0, tail_s=1.0, fps=FPS)
    events, _ = sc.clip_events(scene, _settings())
    hits = [e for e in events if e.type == "crowd.stationary_cluster"]
    assert len(hits) == 1, [(e.type, e.data) for e in events if e.type != "crowd.count"]
    assert abs((hits[0].time - sc.T0) - scene.cluster_due_s) <= 1.0
    assert hits[0].data["people"] >= 4 and len(hits[0].track_ids) >= 4
    assert any(e.type == "crowd.formed" for e in events)


def test_no_stationary_cluster_while_people_keep_walking(material):
    from clearsight.apps.crowd import scenarios as sc

    bg, people = material
    scene = sc.walking(bg, people, n=6, duration_s=5.0, fps=FPS)
    events, _ = sc.clip_events(scene, _settings())
    assert not [e for e in events if e.type == "crowd.stationary_cluster"]
    counts = [e.data["count"] for e in events if e.type == "crowd.count"]
    assert max(counts) >= 3  # the walkers were seen


def test_flow_direction_follows_the_walkers(material):
    from clearsight.apps.crowd import scenarios as sc

    bg, people = material
    scene = sc.stream_right(bg, people, n=4, duration_s=3.0, fps=FPS)
    events, _ = sc.clip_events(scene, _settings())
    flows = [e.data for e in events if e.type == "crowd.flow" and e.data["direction_deg"] is not None]
    assert flows, [e.type for e in events]
    d = flows[-1]["direction_deg"]
    assert min(d, 360 - d) <= 20, flows[-1]
    assert flows[-1]["source"] == "tracks" and flows[-1]["counter"] == 0
