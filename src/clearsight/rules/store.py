"""The service-wide alert rules, kept in order (the order rules are evaluated in).

Rows in the main database (`camera_rules`), one per rule, as the JSON a `Rule`
dumps; the caller validates them (`RuleSet.model_validate({"rules": ...})`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from ..db import SqliteSynchronous, connect, session_factory
from ..db.tables.cameras import RuleRow

if TYPE_CHECKING:
    from ..config import Settings


class RuleStore:
    def __init__(self, url: str, *, sqlite_synchronous: SqliteSynchronous = "FULL") -> None:
        self.url = url
        self._engine = connect(url, "main", sqlite_synchronous=sqlite_synchronous)
        self._Session = session_factory(self._engine)

    @classmethod
    def open(cls, settings: Settings) -> RuleStore:
        return cls(settings.gallery_database_url(), sqlite_synchronous=settings.gallery.sqlite_synchronous)

    def load(self) -> list[dict[str, Any]]:
        with self._Session() as s:
            return [dict(r) for r in s.scalars(select(RuleRow.rule).order_by(RuleRow.position))]

    def save(self, rules: list[dict[str, Any]]) -> None:
        """Replace the whole rule set at once (readers see the old set or the new one, never a mix)."""
        with self._Session.begin() as s:
            s.execute(delete(RuleRow))
            s.add_all(RuleRow(position=i, rule=rule) for i, rule in enumerate(rules))

    def close(self) -> None:
        self._engine.dispose()
