"""In-cabin occupancy on a real in-car frame: one driver, empty seats behind."""

from __future__ import annotations

from clearsight.apps.cabin import OCCUPANCY, CabinAnalyser, CabinConfig, CabinObserver
from clearsight.io import load_image
from clearsight.io.video import Frame
from clearsight.stream.analysers import FrameView
from tests.conftest import data_path


def test_cabin_occupancy_on_a_real_frame():
    folder = data_path("dms", "drowsiness_yawn_eyes", "yawn", "no_yawn")
    rgb = load_image(sorted(folder.glob("*.jpg"))[0])
    observer = CabinObserver(CabinConfig())
    state = observer.observe(rgb)
    assert state.occupants == 1 and not state.phone_use
    cabin = CabinAnalyser(CabinConfig(every_s=0, stable_frames=2), observer)
    events = []
    for i in range(2):  # the same answer twice in a row: one event
        events += cabin.analyse(FrameView("car", Frame(rgb, i, i, 1e9 + i, "car"), (), (), True)).events
    assert [(e.type, e.data["count"], e.data["previous"]) for e in events] == [(OCCUPANCY, 1, None)]
