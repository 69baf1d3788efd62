"""A data dir in today's (pre-`clearsight.db`) layout is upgraded on first start, and a
second start finds nothing to do. The old files are written in their exact old formats."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import BigInteger, Column, Float, Index, Integer, LargeBinary, MetaData, String, Table, Text, text

from clearsight.config import Settings
from clearsight.db import MIGRATIONS_DIR, current_revision, make_engine, upgrade_data_dir
from clearsight.rules.engine import RuleSet
from clearsight.rules.sinks import EventStore
from clearsight.rules.store import RuleStore
from clearsight.server.auth import KeyStore
from clearsight.stream.config import CameraConfig
from clearsight.stream.store import CameraStore

pytestmark = pytest.mark.unit

# `KeyStore.__init__` before this change, verbatim
OLD_KEYS_SCHEMA = """CREATE TABLE IF NOT EXISTS api_keys (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
                    secret_sha256 TEXT NOT NULL, created_at TEXT NOT NULL,
                    revoked_at TEXT, last_used_at TEXT, rate_limit INTEGER)"""
OLD_KEYS = [  # (id, secret, name, role, revoked_at, last_used_at, rate_limit)
    ("a1b2c3d4e5f6", "s3cret-admin", "first admin (created by clearsight serve)", "admin", None,
     "2026-11-30T09:00:00+00:00", None),
    ("0f0f0f0f0f0f", "s3cret-kiosk", "kiosk", "client", None, None, 30),
    ("dead00beef00", "s3cret-gone", "old operator", "operator", "2026-11-29T12:00:00+00:00", None, None),
]


def _old_events_table(md: MetaData) -> Table:
    """The table `EventStore.__init__` created itself before this change, verbatim."""
    return Table(
        "cs_events", md,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("type", String(64), nullable=False),
        Column("camera", String(200), nullable=False),
        Column("time", Float, nullable=False),
        Column("track_ids", Text, nullable=False),
        Column("data", Text, nullable=False),
        Column("snapshot", LargeBinary, nullable=True),
        Index("ix_cs_events_camera_time", "camera", "time"),
        Index("ix_cs_events_type_time", "type", "time"),
    )


def _write_old_layout(data: Path) -> dict[str, object]:
    # API keys: a raw SQLite file
    (data / "server").mkdir(parents=True)
    with closing(sqlite3.connect(data / "server" / "keys.sqlite", isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(OLD_KEYS_SCHEMA)
        for kid, secret, name, role, revoked, used, rate in OLD_KEYS:
            db.execute("INSERT INTO api_keys (id, name, role, secret_sha256, created_at, revoked_at, last_used_at, "
                       "rate_limit) VALUES (?,?,?,?,?,?,?,?)",
                       (kid, name, role, hashlib.sha256(secret.encode()).hexdigest(), "2026-11-28T08:00:00+00:00",
                        revoked, used, rate))
    # cameras: one JSON file each, {"config": ..., "running": ...}; the rules beside them
    cams = data / "cameras"
    (cams / "output").mkdir(parents=True)
    configs = {
        "front-door": CameraConfig.model_validate({"name": "front-door", "source": "rtsp://10.0.0.5/stream"}),
        "loading-bay": CameraConfig.model_validate({"name": "loading-bay", "source": 0}),
    }
    for (name, cfg), running in zip(configs.items(), (True, False)):
        (cams / f"{name}.json").write_text(json.dumps({"config": cfg.model_dump(mode="json"), "running": running},
                                                      indent=2))
    rules = RuleSet.model_validate({"rules": [
        {"name": "loitering", "when": {"type": "zone.exit", "min_duration": 30}, "severity": "warning"},
        {"name": "crowd", "when": {"type": "zone.enter", "count": {"at_least": 5, "within_s": 60}}},
    ]})
    (cams / "rules.json").write_text(json.dumps(rules.model_dump(mode="json"), indent=2))
    # gallery.db: created by migration 0001, with an identity
    gallery = make_engine(f"sqlite:///{data / 'gallery.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with gallery.begin() as conn:
        cfg.attributes.update(connection=conn, database="main")
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO identities (id, display_name, attributes, created_at) "
                          "VALUES ('i1', 'Ada', '{}', '2026-11-30 10:00:00')"))
    gallery.dispose()
    # events.db: the store's own table, no Alembic version, three events
    events = make_engine(f"sqlite:///{data / 'events.db'}")
    md = MetaData()
    table = _old_events_table(md)
    md.create_all(events)
    with events.begin() as conn:
        conn.execute(table.insert(), [{"type": "zone.enter", "camera": "front-door", "time": 100.0 + i,
                                       "track_ids": "[1]", "data": "{}", "snapshot": b"\xff\xd8"} for i in range(3)])
    events.dispose()
    return {"configs": configs, "rules": rules}


def _snapshot(settings: Settings) -> tuple:
    keys, cams, rules = KeyStore.open(settings), CameraStore.open(settings), RuleStore.open(settings)
    events = EventStore(settings.events_database_url())
    try:
        return (keys.list(), cams.list(), rules.load(), events.count(),
                sorted(p.relative_to(settings.data_dir).as_posix() for p in settings.data_dir.rglob("*")
                       if p.is_file() and not p.name.endswith(("-wal", "-shm"))))
    finally:
        for s in (keys, cams, rules, events):
            s.close()


def test_old_data_dir_is_upgraded_once(tmp_path, caplog):
    settings = Settings(data_dir=tmp_path)
    old = _write_old_layout(tmp_path)
    (tmp_path / "cameras" / "broken.json").write_text("{not json")

    with caplog.at_level(logging.ERROR, logger="clearsight.db.legacy"):
        assert upgrade_data_dir(settings) == {"keys": 3, "cameras": 2, "rules": 2}
    assert "broken.json" in caplog.text

    # keys: the old secrets still authenticate, revocations and limits survive
    keys = KeyStore.open(settings)
    for kid, secret, name, role, revoked, used, rate in OLD_KEYS:
        k = keys.get(kid)
        assert (k.name, k.role.value, k.revoked_at, k.rate_limit) == (name, role, revoked, rate)
        assert (keys.authenticate(f"cs_{kid}_{secret}") is None) == (revoked is not None)
    keys.close()
    # cameras and rules: what the old files said, valid for their models
    cams = CameraStore.open(settings)
    assert [(c.name, c.running) for c in cams.list()] == [("front-door", True), ("loading-bay", False)]
    assert {c.name: CameraConfig.model_validate(c.config) for c in cams.list()} == old["configs"]
    cams.close()
    assert RuleSet.model_validate({"rules": RuleStore.open(settings).load()}) == old["rules"]
    # the databases: gallery.db upgraded with its rows, events.db adopted with its rows
    gallery = make_engine(settings.gallery_database_url())
    events_engine = make_engine(settings.events_database_url())
    try:
        assert current_revision(gallery, "main") == "0005"
        assert current_revision(events_engine, "events") == "events_0001"
        with gallery.connect() as conn:
            assert conn.execute(text("SELECT display_name FROM identities")).scalar_one() == "Ada"
    finally:
        gallery.dispose()
        events_engine.dispose()
    events = EventStore(settings.events_database_url())
    assert [r["time"] for r in events.query()] == [102.0, 101.0, 100.0] and events.snapshot(1) == b"\xff\xd8"
    events.close()
    # the imported files are retired; the one that did not parse stays for a human to look at
    assert not (tmp_path / "server" / "keys.sqlite").exists() and (tmp_path / "server" / "keys.sqlite.migrated").exists()
    assert sorted(p.name for p in (tmp_path / "cameras").iterdir()) == [
        "broken.json", "front-door.json.migrated", "loading-bay.json.migrated", "output", "rules.json.migrated"]

    # second start: nothing to do, nothing changes
    before = _snapshot(settings)
    assert upgrade_data_dir(settings) == {"keys": 0, "cameras": 0, "rules": 0}
    assert _snapshot(settings) == before


def test_an_interrupted_import_never_duplicates(tmp_path):
    """Killed after the commit but before the renames: the files are imported again, adding nothing."""
    settings = Settings(data_dir=tmp_path)
    _write_old_layout(tmp_path)
    upgrade_data_dir(settings)
    before = _snapshot(settings)
    for p in [*tmp_path.rglob("*.migrated")]:
        p.rename(p.with_name(p.name.removesuffix(".migrated")))
    RuleStore.open(settings).save([{"name": "edited later", "when": {"type": "face.seen"}}])
    assert upgrade_data_dir(settings) == {"keys": 0, "cameras": 0, "rules": 0}
    after = _snapshot(settings)
    assert after[:2] == before[:2] and after[3:] == before[3:]
    assert after[2] == [{"name": "edited later", "when": {"type": "face.seen"}}]  # a newer rule set is kept


def test_a_fresh_data_dir_needs_nothing(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert upgrade_data_dir(settings) == {"keys": 0, "cameras": 0, "rules": 0}
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        "events.db", "gallery.db"]
