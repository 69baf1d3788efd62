"""SQLite engines: several on one file in one process (the service opens a store per area on
the main database) must not break each other or a second process."""

from __future__ import annotations

import subprocess
import sys

from clearsight.db import make_engine


def test_a_second_engine_keeps_the_first_ones_locks_so_another_process_cannot_delete_the_wal(tmp_path):
    """Closing any descriptor of a database file drops every POSIX lock the process holds on
    it: the 0600 check once opened and closed the file for each new engine, after which
    another process closing its connection deleted the -wal and -shm under this process's
    open connection, and the next write found a malformed database (a load run's 500s)."""
    path = tmp_path / "main.db"
    first = make_engine(f"sqlite:///{path}")
    with first.begin() as c:
        c.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    held = first.connect()  # a pooled connection of a long-running service
    held.exec_driver_sql("SELECT * FROM t").all()
    held.commit()
    second = make_engine(f"sqlite:///{path}")
    other = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=WAL'); "
             "c.execute('SELECT * FROM t').fetchall(); c.close()")
    subprocess.run([sys.executable, "-c", other, str(path)], check=True, timeout=60)
    assert (tmp_path / "main.db-wal").exists() and (tmp_path / "main.db-shm").exists()
    with second.begin() as c:
        c.exec_driver_sql("INSERT INTO t VALUES (1)")
    assert held.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    held.close()
    first.dispose()
    second.dispose()
