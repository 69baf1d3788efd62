"""The `plates` analyser with the real reader on a real car photo moved across frames:
one voted read per track, stored with its sealed crop, and an alert only from an active
hot-list (never from a list without a recorded legal basis, or an expired one)."""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
import pytest

from clearsight.apps.plates.analyser import PLATE_HOTLIST_MATCH, PLATE_READ, PlateAnalyser, PlatesConfig
from clearsight.apps.plates.store import PlateStore
from clearsight.config import get_settings
from clearsight.db import new_id, utcnow
from clearsight.db.tables.plates import HotListPlateRow, HotListRow
from clearsight.io import load_image
from clearsight.io.video import Frame
from clearsight.stream.analysers import FrameView
from clearsight.stream.detectors import Observation
from clearsight.stream.tracking import Tracked
from clearsight.types import BBox

from ...conftest import data_path

pytestmark = pytest.mark.integration

PHOTO = ("plates", "openalpr", "endtoend", "eu", "eu11.jpg")  # ground truth BS47040
CAR = BBox(40, 100, 300, 300)  # the car in the photo


def _frames(photo: np.ndarray, n: int) -> list[tuple[np.ndarray, BBox]]:
    """The photo drifting right and down on a grey road-coloured canvas, as a passing car would."""
    h, w = photo.shape[:2]
    out = []
    for i in range(n):
        dx, dy = 8 * i, 3 * i
        canvas = np.full((h + 40, w + 60, 3), 96, np.uint8)
        canvas[dy:dy + h, dx:dx + w] = photo
        out.append((canvas, BBox(CAR.x1 + dx, CAR.y1 + dy, CAR.x2 + dx, CAR.y2 + dy)))
    return out


def _list_around_the_api(store: PlateStore, name: str, plate: str, *, basis: str, expired: bool = False) -> None:
    with store.transaction() as s:
        hid = new_id()
        s.add(HotListRow(id=hid, name=name, purpose="enforcement", legal_basis=basis, created_by="sql",
                         created_at=utcnow(), expires_at=utcnow() - timedelta(hours=1) if expired else None, alert=True))
        s.flush()
        s.add(HotListPlateRow(hotlist_id=hid, text=plate, note="", added_by="sql", added_at=utcnow()))


def test_one_voted_read_per_track_and_an_alert_only_from_an_active_hotlist():
    photo = load_image(data_path(*PHOTO))
    store = PlateStore.open(get_settings())
    store.create_hotlist("stolen", purpose="enforcement", legal_basis="police request 2026/114", actor="key:admin",
                         plates=["BS-47040"])
    store.create_hotlist("other", purpose="parking", legal_basis="site rules 4.2", actor="key:admin", plates=["XY999"])
    _list_around_the_api(store, "no-basis", "BS47040", basis="")
    _list_around_the_api(store, "lapsed", "BS47040", basis="court order 17", expired=True)
    cfg = PlatesConfig(country="eu", every_n_frames=1, min_votes=2, max_reads_per_track=4)
    analyser = PlateAnalyser("gate", cfg, store=store)
    events = []
    t0 = time.time() - 5  # a read older than plates.retention_days would be purged on write
    for i, (image, box) in enumerate(_frames(photo, 3)):
        parked = BBox(0, 0, 30, 30)  # too narrow to be read (min_vehicle_width)
        tracks = (Tracked(1, Observation(box, 0.9, "car")), Tracked(2, Observation(parked, 0.9, "car")),
                  Tracked(3, Observation(box, 0.9, "person")))
        view = FrameView("gate", Frame(image, i, i / 5, t0 + i / 5, "test"), tracks, (), True)
        out = analyser.analyse(view)
        events.extend(out.events)
    events.extend(analyser.end_track(1, t0 + 1))
    reads = [e for e in events if e.type == PLATE_READ]
    matches = [e for e in events if e.type == PLATE_HOTLIST_MATCH]
    assert len(reads) == 1, [e.data for e in events]  # settled after 2 agreeing frames; the third is not read
    r = reads[0]
    assert r.data["text"] == "BS47040" and r.data["country"] == "eu" and r.data["votes"] == 2
    assert r.data["vehicle"] == "car"
    assert r.track_ids == (1,) and 0.5 < r.data["confidence"] <= 1 and r.data["track_end"] is False
    assert r.snapshot_jpeg is None  # the crop stays in the store, where each view is audited
    assert analyser.votes.attempts.get(2, 0) == 0 and analyser.votes.attempts.get(3, 0) == 0
    assert [m.data["hotlist"] for m in matches] == ["stolen"]  # not "no-basis", not "lapsed", not "other"
    assert matches[0].snapshot_jpeg[:2] == b"\xff\xd8"  # an alert shows the plate crop
    assert matches[0].data["legal_basis"] == "police request 2026/114" and matches[0].data["read_id"] == r.data["read_id"]
    stored = store.search("BS4704?", actor="key:op")
    assert [(s.text, s.camera, s.track_id, s.has_crop) for s in stored] == [("BS47040", "gate", 1, True)]
    assert load_image(store.crop(stored[0].id, actor="key:op")).shape[2] == 3
    analyser.close()
