"""One Alembic environment, two databases: each reaches its head, matches its tables and
keeps its own version table, on SQLite (two files) and PostgreSQL (one shared database)."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from clearsight.db import (
    DATABASES,
    MIGRATIONS_DIR,
    SCHEMAS,
    current_revision,
    database_url,
    make_engine,
    migrate,
    open_engine,
)

pytestmark = pytest.mark.unit

HEADS = {"main": "0009", "events": "events_0002"}


@pytest.mark.parametrize("database", DATABASES)
def test_schema_matches_the_tables_declared_in_db(settings, database):
    """The migrations and the ORM describe the same schema (the other database's tables,
    present when both share one PostgreSQL database, are not this one's business)."""
    schema = SCHEMAS[database]
    engine = open_engine(settings, database)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={
                "version_table": schema.version_table,
                "include_name": lambda name, type_, _parent: type_ != "table" or name in schema.metadata.tables,
            })
            assert compare_metadata(ctx, schema.metadata) == []
    finally:
        engine.dispose()


def test_each_database_has_its_own_version_and_tables(settings):
    engines = {db: open_engine(settings, db) for db in DATABASES}
    try:
        for db, engine in engines.items():
            migrate(engine, db)  # a second run is a no-op
            assert current_revision(engine, db) == HEADS[db]
        main_tables = set(inspect(engines["main"]).get_table_names())
        events_tables = set(inspect(engines["events"]).get_table_names())
        assert {"identities", "templates", "audit_log", "api_keys", "cameras", "camera_rules", "alembic_version"} <= main_tables
        assert {"cs_events", "alembic_version_events"} <= events_tables
        if settings.gallery.database_url:  # PostgreSQL: one database holds both, apart by version table
            assert database_url(settings, "events") == database_url(settings, "main")
            assert main_tables == events_tables
        else:  # SQLite: events keep their own file
            assert database_url(settings, "events").endswith("/events.db")
            assert "cs_events" not in main_tables and "api_keys" not in events_tables
    finally:
        for e in engines.values():
            e.dispose()


def test_sqlite_connections_get_wal_busy_timeout_and_secure_delete(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", sqlite_synchronous="NORMAL")
    try:
        with engine.connect() as conn:
            pragmas = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in
                       ("journal_mode", "busy_timeout", "secure_delete", "foreign_keys", "synchronous")}
        assert pragmas == {"journal_mode": "wal", "busy_timeout": 60000, "secure_delete": 1, "foreign_keys": 1,
                           "synchronous": 1}
    finally:
        engine.dispose()


def test_sqlite_files_are_private_whatever_the_umask(tmp_path):
    """Issue 19 item 3: a Python caller has not set the CLI's umask 077; the database and
    its WAL are still 0600, and an existing file is tightened."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        (tmp_path / "old.db").write_bytes(b"")
        os.chmod(tmp_path / "old.db", 0o644)
        for name in ("new.db", "old.db"):
            engine = make_engine(f"sqlite:///{tmp_path / name}")
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
                    conn.exec_driver_sql("INSERT INTO t VALUES ('a')")
                files = sorted(tmp_path.glob(name + "*"))
                assert {f.name for f in files} >= {name, name + "-wal"}
                assert {f.name: oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {f.name: "0o600" for f in files}
            finally:
                engine.dispose()
    finally:
        os.umask(old)


def _upgrade_to(engine, database: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes.update(connection=conn, database=database)
        command.upgrade(cfg, revision)


def test_a_gallery_database_at_0001_upgrades_and_keeps_its_rows(settings):
    """What every gallery.db written before this change looks like: revision 0001 in `alembic_version`."""
    engine = make_engine(settings.gallery_database_url())
    try:
        _upgrade_to(engine, "main", "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO identities (id, display_name, attributes, created_at) "
                              "VALUES ('a1', 'Ada', '{}', '2026-11-30 10:00:00')"))
            assert "api_keys" not in inspect(conn).get_table_names()
        assert current_revision(engine) == "0001"
        migrate(engine, "main")
        assert current_revision(engine) == HEADS["main"]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT display_name FROM identities")).scalar_one() == "Ada"
            assert conn.execute(text("SELECT seq FROM audit_head")).scalar_one() == 0
    finally:
        engine.dispose()
