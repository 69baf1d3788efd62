"""Engines and sessions: the one place that knows how to talk to SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from sqlalchemy import create_engine, event, make_url
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
    _private_file(url)
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


def _private_file(url: str) -> None:
    """The database file is 0600 whatever the umask of the process (a Python caller has
    not set the CLI's 077); SQLite gives its -wal and -shm files the database's mode.
    An existing file is tightened, as the data dir is."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite reports the missing folder itself
    # Never open (and so close) an existing database file here: closing any descriptor of
    # a file drops every POSIX lock this process holds on it, so another process closing
    # its connection believes it is the last, checkpoints and deletes the -wal and -shm
    # files under this process's open connections ("database is locked", "disk I/O
    # error"; sqlite.org/howtocorrupt.html 2.2). A second engine on the same file (the
    # service opens several stores on the main database) did exactly that.
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # an empty file is an empty database
    except FileExistsError:
        try:
            path.chmod(0o600)
        except PermissionError:  # someone else's file: theirs to protect
            pass


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
