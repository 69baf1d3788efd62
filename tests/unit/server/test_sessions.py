"""The one session pool behind DMS and effects live sessions: bounds, idle expiry,
ownership, and closing every value it drops exactly once."""

from __future__ import annotations

import pytest

from clearsight.server.sessions import SessionLimitError, SessionNotFoundError, SessionPool


class Value:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.closed = 0


def _pool(**kw) -> SessionPool[Value]:
    kw.setdefault("idle_s", 60.0)
    return SessionPool(close=lambda v: setattr(v, "closed", v.closed + 1), **kw)


def test_refusing_pool_bounds_per_owner_and_in_all():
    pool = _pool(max_total=3, max_per_owner=2)
    a1, _ = pool.create("a", lambda: Value("a1")), pool.create("a", lambda: Value("a2"))
    built = []
    with pytest.raises(SessionLimitError):
        pool.create("a", lambda: built.append(1) or Value("a3"))
    assert built == []  # refused before building (models load slowly)
    pool.create("b", lambda: Value("b1"))
    with pytest.raises(SessionLimitError):
        pool.create("c", lambda: Value("c1"))
    pool.end("a", a1.id)
    assert a1.value.closed == 1
    assert pool.create("c", lambda: Value("c1")).owner == "c"


def test_sessions_belong_to_their_owner_and_expire_when_idle():
    pool = _pool(max_total=4)
    s = pool.create("a", lambda: Value("x"))
    assert pool.get("a", s.id) is s
    with pytest.raises(SessionNotFoundError):
        pool.get("b", s.id)  # another key's session is as unknown as a missing one
    pool.idle_s = -1.0
    with pytest.raises(SessionNotFoundError):
        pool.get("a", s.id)
    assert s.value.closed == 1 and len(pool) == 0


def test_evicting_pool_closes_the_least_recently_used():
    pool = _pool(max_total=2, evict_oldest=True)
    first = pool.get_or_create("a", "one", lambda: Value("1"), keep=lambda v: True)
    second = pool.get_or_create("b", "two", lambda: Value("2"), keep=lambda v: True)
    pool.get("a", "one")  # now "two" is the least recently used
    pool.get_or_create("c", "three", lambda: Value("3"), keep=lambda v: True)
    assert second.value.closed == 1 and first.value.closed == 0
    with pytest.raises(SessionNotFoundError):
        pool.get("b", "two")


def test_get_or_create_rebuilds_a_value_that_no_longer_fits_and_keeps_the_lock():
    pool = _pool(max_total=2, evict_oldest=True)
    s = pool.get_or_create("a", "live", lambda: Value("glam"), keep=lambda v: v.tag == "glam")
    old, lock = s.value, s.lock
    again = pool.get_or_create("a", "live", lambda: Value("never"), keep=lambda v: v.tag == "glam")
    assert again is s and again.value is old
    rebuilt = pool.get_or_create("a", "live", lambda: Value("party"), keep=lambda v: v.tag == "party")
    assert rebuilt.value.tag == "party" and rebuilt.lock is lock and old.closed == 1
    pool.close()
    assert rebuilt.value.closed == 1 and len(pool) == 0
