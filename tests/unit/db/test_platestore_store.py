"""The plate store on SQLite and PostgreSQL: reads, wildcard search, hot-lists with a legal
basis, alerting only on an active hot-list, retention, and the audit entries of each."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from clearsight.apps.plates.store import LegalBasisRequiredError, PlateStore
from clearsight.apps.plates.text import normalise_plate, wildcard_like, wildcard_match
from clearsight.db.tables.plates import HotListPlateRow, HotListRow
from clearsight.errors import InputError
from clearsight.gallery.errors import ConflictError, NotFoundError

pytestmark = pytest.mark.unit

NOW = datetime.now(timezone.utc)


def _actions(store: PlateStore) -> list[str]:
    with store.transaction() as s:
        return [e.action for e in store.audit.entries(s, 0, 1000)]


@pytest.fixture
def store(settings):
    st = PlateStore.open(settings)
    yield st
    st.close()


def test_wildcards_and_normal_form():
    assert normalise_plate(" ab-12 3 ") == "AB123" and normalise_plate("皖A·12345") == "皖A12345"
    assert wildcard_like("ab?12*") == "AB_12%" and wildcard_like("A**B") == "A%B"
    assert wildcard_match("AB?12*", "ABC12") and wildcard_match("AB?12*", "AB-X12-999")
    assert not wildcard_match("AB?12*", "AB12") and not wildcard_match("AB?12*", "XAB112")
    for bad in ("AB%1", "A+B", "", "'; DROP", "É12"):
        with pytest.raises(InputError):
            wildcard_like(bad)
    with pytest.raises(InputError, match="at least 2 characters"):
        wildcard_like("*?*", min_literals=2)


def test_reads_search_by_pattern_camera_and_time_and_every_search_is_audited(store):
    t0 = NOW - timedelta(hours=3)
    for i, (cam, text) in enumerate([("gate", "AB312XY"), ("gate", "AB912"), ("dock", "AB412Q"), ("gate", "AC312"),
                                     ("gate", "ZAB312")]):
        store.record(camera=cam, at=t0 + timedelta(minutes=i), text=text, confidence=0.9, country="eu",
                     track_id=i, votes=3, crop_jpeg=b"\xff\xd8jpeg" + bytes([i]))
    found = store.search("AB?12*", actor="key:op")
    assert [r.text for r in found] == ["AB412Q", "AB912", "AB312XY"]  # newest first; AC312, ZAB312 do not match
    assert [r.text for r in store.search("ab?12*", actor="key:op", camera="gate")] == ["AB912", "AB312XY"]
    assert [r.text for r in store.search("AB*", actor="key:op", since=t0 + timedelta(minutes=1),
                                         until=t0 + timedelta(minutes=1, seconds=30))] == ["AB912"]
    assert [r.text for r in store.search("AB?12", actor="key:op")] == ["AB912"]  # no *: exact length
    r = found[0]
    assert (r.camera, r.country, r.votes, r.has_crop, r.purpose) == ("dock", "eu", 3, True, "traffic")
    assert store.crop(r.id, actor="key:op") == b"\xff\xd8jpeg\x02"
    with store.transaction() as s:  # the crop is sealed at rest
        from clearsight.db.tables.plates import PlateReadRow
        assert b"jpeg" not in s.get(PlateReadRow, r.id).crop
    with pytest.raises(InputError):
        store.search("*", actor="key:op")
    with pytest.raises(InputError, match="actor"):
        store.search("AB*", actor="")
    with store.transaction() as s:
        searches = store.audit.entries(s, 0, 100, action="plates.search")
        assert [e.details["results"] for e in searches] == [3, 2, 1, 1]
        assert searches[0].actor == "key:op" and searches[0].details["pattern"] == "AB?12*"
        assert store.audit.count(s, action="plates.export") == 1
        assert store.audit.verify(s).ok


def test_hotlist_needs_a_legal_basis_and_alerts_only_on_its_plates(store):
    for basis in (None, "", "  "):
        with pytest.raises(LegalBasisRequiredError):
            store.create_hotlist("stolen", purpose="enforcement", legal_basis=basis, actor="key:admin", plates=["AB123"])
    with pytest.raises(InputError, match="purpose"):
        store.create_hotlist("stolen", purpose="curiosity", legal_basis="police request 114", actor="key:admin")
    assert store.hotlists() == []
    hl = store.create_hotlist("stolen", purpose="enforcement", legal_basis="police request 2026/114",
                              actor="key:admin", plates=["ab-123", "XY999"])
    assert hl.plates == ("AB123", "XY999") and hl.active(NOW)
    with pytest.raises(ConflictError):
        store.create_hotlist("stolen", purpose="parking", legal_basis="site rules", actor="key:admin")
    assert [h.hotlist for h in store.hits("AB 123", camera="gate")] == ["stolen"]
    assert store.hits("AB124") == [] and store.hits("AB12") == []  # only the listed plate alerts
    store.add_plates(hl.id, ["CD456"], actor="key:admin", note="reported 2026-12-01")
    assert [h.note for h in store.hits("CD456")] == ["reported 2026-12-01"]
    store.remove_plate(hl.id, "AB123", actor="key:admin")
    assert store.hits("AB123") == []
    with pytest.raises(NotFoundError):
        store.remove_plate(hl.id, "AB123", actor="key:admin")
    store.update_hotlist(hl.id, alert=False, actor="key:admin")
    assert store.hits("XY999") == []  # alerting off
    store.update_hotlist(hl.id, alert=True, actor="key:admin")
    with pytest.raises(LegalBasisRequiredError):
        store.update_hotlist(hl.id, legal_basis="", actor="key:admin")
    # a list whose basis was erased or lapsed around the API never alerts
    with store.transaction() as s:
        s.get(HotListRow, hl.id).legal_basis = " "
    assert store.hits("XY999") == []
    with store.transaction() as s:
        row = s.get(HotListRow, hl.id)
        row.legal_basis, row.expires_at = "police request 2026/114", NOW - timedelta(minutes=1)
    assert store.hits("XY999") == []
    store.update_hotlist(hl.id, clear_expiry=True, actor="key:admin")
    assert [h.hotlist_id for h in store.hits("XY999")] == [hl.id]
    store.delete_hotlist(hl.id, actor="key:admin")
    assert store.hits("XY999") == [] and store.hotlists() == []
    with store.transaction() as s:
        assert s.query(HotListPlateRow).count() == 0
    assert _actions(store) == [
        "plates.hotlist.create", "plates.hotlist.match", "plates.hotlist.add", "plates.hotlist.match",
        "plates.hotlist.remove", "plates.hotlist.update", "plates.hotlist.update", "plates.hotlist.update",
        "plates.hotlist.match", "plates.hotlist.delete"]


def test_reads_expire_by_retention(settings):
    settings = settings.model_copy(update={"plates": settings.plates.model_copy(update={"retention_days": 7})})
    store = PlateStore.open(settings)
    try:
        store.record(camera="gate", at=NOW - timedelta(days=6), text="NEW222", confidence=0.8, country="eu")
        # the first write ran the periodic purge; the next is not due for an hour, so this old read lands
        store.record(camera="gate", at=NOW - timedelta(days=8), text="OLD111", confidence=0.8, country="eu",
                     crop_jpeg=b"jpeg")
        assert store.count_reads() == 2
        assert store.search("OLD*", actor="key:admin") == []  # past retention: never shown, even before the purge
        with pytest.raises(NotFoundError):
            store.crop(2, actor="key:admin")
        from clearsight.rules.events import make_event
        from clearsight.rules.sinks import EventStore

        events = EventStore(settings.events_database_url())
        for days, etype in ((8, "plate.read"), (8, "plate.hotlist_match"), (6, "plate.read"), (8, "zone.enter")):
            events.emit(make_event(etype, "gate", (NOW - timedelta(days=days)).timestamp(), (1,), text="OLD111"))
        report = store.apply_retention(actor="key:admin")
        assert [e["type"] for e in events.query(newest_first=False)] == ["zone.enter", "plate.read"]  # only old plate.*
        events.close()
        assert report.events_deleted == 2
        assert report.deleted == 1 and [r.text for r in store.search("*2*2*", actor="key:admin")] == ["NEW222"]
        assert store.search("OLD*", actor="key:admin") == []
        later = store.apply_retention(actor="key:admin", now=NOW + timedelta(days=2))
        assert later.deleted == 1 and store.count_reads() == 0
        with store.transaction() as s:
            runs = store.audit.entries(s, 0, 100, action="plates.retention")
            assert [(e.details["deleted"], e.details["events_deleted"]) for e in runs] == [(1, 2), (1, 1)]  # the automatic run deleted nothing: not logged
    finally:
        store.close()
    reopened = PlateStore.open(settings)  # a new process purges on its first write
    try:
        reopened.record(camera="gate", at=NOW - timedelta(days=30), text="OLD333", confidence=0.8, country="eu")
        assert reopened.count_reads() == 0
    finally:
        reopened.close()
