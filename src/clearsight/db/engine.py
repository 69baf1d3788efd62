"""Engines and sessions: the one place that knows how to talk to SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

SqliteSynchronous = Literal["FULL", "NORMAL"]


def make_engine(url: str, *, sqlite_synchronous: SqliteSynchronous = "FULL") -> Engine:
    """An engine with the connection settings every store needs.

    SQLite: WAL (readers never block the writer), a long busy timeout and BEGIN
    IMMEDIATE, so writers from many threads and processes queue on the lock instead
    of failing with "database is locked" when a read turns into a write; foreign
    keys on; secure_delete so erased biometric rows and revoked key hashes are
    overwritten in the file, not just unlinked from the b-tree.
    """
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _rec):  # noqa: ANN001 - SQLAlchemy hook
        # SQLAlchemy's begin event below issues the BEGIN, not the driver
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001 - SQLAlchemy hook
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
