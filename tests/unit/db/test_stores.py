"""The repositories on the main and events databases, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from clearsight.config import Settings
from clearsight.db import make_engine
from clearsight.db.tables.events import events_table
from clearsight.rules.sinks import EventStore
from clearsight.rules.store import RuleStore
from clearsight.server.auth import KeyStore, Role
from clearsight.settings import GallerySettings
from clearsight.stream.store import CameraStore, SavedCamera

from ..gallery.helpers import pg_schema_url

pytestmark = pytest.mark.unit


def test_camera_store_saves_replaces_lists_and_deletes(settings):
    store = CameraStore.open(settings)
    assert store.list() == []
    store.save("gate", {"name": "gate", "source": "rtsp://cam/1"}, True)
    store.save("dock", {"name": "dock", "source": 0}, False)
    store.save("gate", {"name": "gate", "source": "rtsp://cam/2"}, False)  # edit: one row, new config
    store.close()
    store = CameraStore.open(settings)  # another process (the next start) sees the same cameras
    assert store.list() == [
        SavedCamera("dock", {"name": "dock", "source": 0}, False),
        SavedCamera("gate", {"name": "gate", "source": "rtsp://cam/2"}, False),
    ]
    assert store.get("dock") == SavedCamera("dock", {"name": "dock", "source": 0}, False)
    assert store.delete("dock") is True and store.delete("dock") is False and store.get("dock") is None
    assert [c.name for c in store.list()] == ["gate"]
    store.close()


def test_rule_store_keeps_order_and_replaces_the_whole_set(settings):
    store = RuleStore.open(settings)
    assert store.load() == []
    rules = [{"name": f"r{i}", "when": {"type": "zone.*"}, "severity": "info"} for i in (3, 1, 2)]
    store.save(rules)
    assert RuleStore.open(settings).load() == rules
    store.save(rules[1:])
    assert store.load() == rules[1:]
    store.save([])
    assert store.load() == []
    store.close()


def test_key_store_on_the_main_database(settings):
    store = KeyStore.open(settings)
    admin, plain = store.create(Role.ADMIN, "first", rate_limit=120)
    _, client_plain = store.create("client")
    assert store.has_active_admin()
    found = store.authenticate(plain)
    assert found is not None and found.id == admin.id and found.rate_limit == 120
    assert store.get(admin.id).last_used_at is not None  # touched on first use
    store.revoke(admin.id)
    assert store.authenticate(plain) is None and not store.has_active_admin()
    assert store.revoke(admin.id).revoked_at == store.get(admin.id).revoked_at  # revoking twice keeps the first time
    store.close()
    reopened = KeyStore.open(settings)  # close() then reopen: same rows
    assert [k.role for k in reopened.list(include_revoked=False)] == [Role.CLIENT]
    assert reopened.authenticate(client_plain).role is Role.CLIENT
    reopened.close()


def test_event_store_counts_past_ten_thousand(settings):
    """`count` used to page through `query` and stopped at its limit of 10,000."""
    url = settings.events_database_url()
    store = EventStore(url)
    n = 12_345
    rows = [{"type": "zone.enter" if i % 3 else "face.seen", "camera": "a" if i % 2 else "b", "time": float(i),
             "track_ids": json.dumps([i]), "data": "{}", "snapshot": None} for i in range(n)]
    writer = make_engine(url)
    try:
        with writer.begin() as conn:  # one transaction
            conn.execute(events_table.insert(), rows)
    finally:
        writer.dispose()
    assert store.count() == n
    assert store.count(camera="a") == sum(1 for r in rows if r["camera"] == "a")
    assert store.count(type="zone.*") == sum(1 for r in rows if r["type"] == "zone.enter")
    assert store.count(type="face.seen", since=100.0, until=11_000.0) == sum(
        1 for r in rows if r["type"] == "face.seen" and 100.0 <= r["time"] < 11_000.0)
    assert len(store.query(limit=10_000)) == 10_000  # paging still caps at 10,000 per page
    store.close()


@pytest.mark.services
def test_events_and_keys_share_one_postgresql_database(tmp_path):
    with pg_schema_url() as url:
        _share_one_database(Settings(data_dir=tmp_path, gallery=GallerySettings(database_url=url)))


def _share_one_database(settings: Settings) -> None:
    assert settings.events_database_url() == settings.gallery_database_url()
    events, keys = EventStore(settings.events_database_url()), KeyStore.open(settings)
    try:
        _, plain = keys.create("operator")
        assert keys.authenticate(plain) is not None and events.count() == 0
    finally:
        events.close()
        keys.close()
