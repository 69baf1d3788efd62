"""Live sessions: model state a client keeps on the server between calls (a driver
monitor, an effects pipeline that tracks a face across frames).

Each holds models in memory, so a pool bounds them (in all and per API key), closes
idle ones lazily, and serialises each session's calls with its own lock, so one
stream's frames run in order while streams do not block each other. A session
belongs to the key that opened it: another key's session is as unknown as a
missing one.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..errors import InputError

T = TypeVar("T")


class SessionNotFoundError(InputError):
    code = "session_not_found"
    http_status = 404


class SessionLimitError(InputError):
    code = "session_limit"
    http_status = 409


@dataclass(eq=False)
class Session(Generic[T]):
    id: str
    owner: str
    value: T
    created: float = field(default_factory=time.time)
    used: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SessionPool(Generic[T]):
    """At most `max_total` sessions (`max_per_owner` per key), closed after `idle_s`.

    When full, a pool either refuses a new session (`evict_oldest=False`: the client
    must end one, the DMS behaviour) or closes the least recently used one (the
    effects behaviour, where a browser tab simply reloads). The errors raised are
    the given types, so each area keeps its own problem codes.
    """

    def __init__(
        self,
        *,
        close: Callable[[T], None],
        max_total: int,
        idle_s: float,
        max_per_owner: int | None = None,
        evict_oldest: bool = False,
        not_found: type[InputError] = SessionNotFoundError,
        limit: type[InputError] = SessionLimitError,
        noun: str = "session",
    ) -> None:
        self._close = close
        self.max_total = max_total
        self.max_per_owner = max_per_owner
        self.idle_s = idle_s
        self.evict_oldest = evict_oldest
        self._not_found = not_found
        self._limit = limit
        self.noun = noun
        self._items: OrderedDict[tuple[str, str], Session[T]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    # -- under self._lock ---------------------------------------------------------
    def _expire(self) -> list[Session[T]]:
        now = time.monotonic()
        stale = [s for s in self._items.values() if now - s.used > self.idle_s]
        for s in stale:
            del self._items[(s.owner, s.id)]
        return stale

    def _make_room(self, owner: str) -> list[Session[T]]:
        """Sessions to close so one more fits; raises the limit error when refusing."""
        mine = sum(1 for s in self._items.values() if s.owner == owner)
        over_owner = self.max_per_owner is not None and mine >= self.max_per_owner
        if not self.evict_oldest:
            if over_owner or len(self._items) >= self.max_total:
                per = f"at most {self.max_per_owner} per key, " if self.max_per_owner is not None else ""
                raise self._limit(
                    f"too many {self.noun}s ({per}{self.max_total} in all); end one or wait "
                    f"{self.idle_s:.0f} s for idle ones to expire"
                )
            return []
        evicted = []
        while self._items and (len(self._items) >= self.max_total or over_owner):
            victim = next((k for k, s in self._items.items() if not over_owner or s.owner == owner), None)
            if victim is None:
                break
            evicted.append(self._items.pop(victim))
            mine -= victim[0] == owner
            over_owner = self.max_per_owner is not None and mine >= self.max_per_owner
        return evicted

    # -- public -------------------------------------------------------------------
    def _dispose(self, sessions: list[Session[T]]) -> None:
        for s in sessions:
            with s.lock:  # never under a call still running on it
                self._close(s.value)

    def create(self, owner: str, build: Callable[[], T], session_id: str | None = None) -> Session[T]:
        """A new session holding `build()` (called outside the pool's lock: models load slowly)."""
        with self._lock:
            stale = self._expire()
        self._dispose(stale)
        if not self.evict_oldest:
            with self._lock:  # refuse before loading anything
                self._make_room(owner)
        value = build()
        session = Session(session_id or secrets.token_urlsafe(12), owner, value)
        try:
            with self._lock:
                evicted = self._make_room(owner)
                replaced = self._items.pop((owner, session.id), None)
                self._items[(owner, session.id)] = session
        except InputError:
            self._close(value)
            raise
        self._dispose(evicted + ([replaced] if replaced is not None else []))
        return session

    def get(self, owner: str, session_id: str) -> Session[T]:
        with self._lock:
            stale = self._expire()
            s = self._items.get((owner, session_id))
            if s is not None:
                s.used = time.monotonic()
                self._items.move_to_end((owner, session_id))
        self._dispose(stale)
        if s is None:
            raise self._not_found(
                f"no {self.noun} {session_id!r} for this key (ended, or idle for {self.idle_s:.0f} s)"
            )
        return s

    def get_or_create(self, owner: str, session_id: str, build: Callable[[], T], keep: Callable[[T], bool]) -> Session[T]:
        """The session `session_id`, opened (or its value rebuilt) when it is missing or
        `keep(value)` says its value no longer fits the call; its lock carries over."""
        try:
            s = self.get(owner, session_id)
        except InputError:
            return self.create(owner, build, session_id)
        if keep(s.value):
            return s
        value = build()  # validates before anything is replaced
        with s.lock:
            old, s.value = s.value, value
            self._close(old)
        return s

    def end(self, owner: str, session_id: str) -> None:
        s = self.get(owner, session_id)
        with self._lock:
            self._items.pop((owner, session_id), None)
        self._dispose([s])

    def close(self) -> None:
        with self._lock:
            items = list(self._items.values())
            self._items.clear()
        self._dispose(items)
