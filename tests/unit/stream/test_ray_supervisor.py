"""The Ray supervisor refuses bad options before it touches Ray (its cluster behaviour is in
tests/integration/stream/test_ray_cluster.py)."""

from __future__ import annotations

import pytest

from clearsight.errors import InputError
from clearsight.stream.config import parse_camera
from clearsight.stream.ray_engine import RayCameraSupervisor


def _cams(*names: str):
    return [parse_camera({"name": n, "source": "rtsp://127.0.0.1:8554/x"}) for n in names]


@pytest.mark.parametrize(("names", "kwargs", "says"), [
    (("a", "a"), {}, "unique"),
    (("a",), {"cpus_per_camera": 0}, "cpus_per_camera"),
    (("a",), {"max_failovers": -1}, "max_failovers"),
    (("a",), {"heartbeat_s": 5, "heartbeat_timeout_s": 5}, "heartbeat"),
    (("a", "b"), {"events_paths": ["x.jsonl"]}, "one output path and one events path per camera"),
])
def test_bad_options_are_refused(names, kwargs, says):
    with pytest.raises(InputError, match=says):
        RayCameraSupervisor(_cams(*names), **kwargs)


def test_nothing_runs_before_run():
    sup = RayCameraSupervisor(_cams("a", "b"))
    assert sup.placements() == {"a": None, "b": None}
    sup.stop()  # nothing started: a no-op
