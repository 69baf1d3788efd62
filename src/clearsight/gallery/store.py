"""The gallery's SQL store: its tables and engine, which now live in `clearsight.db`.

The gallery's source of truth is the main database (SQLite WAL by default,
PostgreSQL by URL), created and upgraded only by the Alembic migrations of
`clearsight.db` (branch `main`). This module keeps the names the gallery's modules
import, so they need not know where persistence lives.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from ..db import MIGRATIONS_DIR, BigId, as_utc, make_engine, new_id, session_factory, utcnow
from ..db import MainBase as Base
from ..db import migrate as _migrate
from ..db.tables.gallery import (
    AuditHeadRow,
    AuditRow,
    ConsentRow,
    GroupMemberRow,
    GroupRow,
    IdentityRow,
    TemplateRow,
)


def migrate(engine: Engine) -> None:
    """Bring the main database to its newest revision (idempotent, safe from many processes)."""
    _migrate(engine, "main")


__all__ = [
    "MIGRATIONS_DIR", "AuditHeadRow", "AuditRow", "Base", "BigId", "ConsentRow", "GroupMemberRow", "GroupRow",
    "IdentityRow", "TemplateRow", "as_utc", "make_engine", "migrate", "new_id", "session_factory", "utcnow",
]
