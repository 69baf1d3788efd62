"""Issue 19 item 5: the audit chain is keyed (HMAC, key outside the database), so
truncating the log and rewriting the head is detected, and chains written before
the upgrade (plain SHA-256) still verify. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import stat
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from clearsight.config import get_settings
from clearsight.gallery.audit import GENESIS, entry_hash
from clearsight.gallery.store import make_engine, migrate

from .helpers import emb, open_gallery, person

pytestmark = pytest.mark.unit


def _rows(engine) -> list[tuple[int, str, str]]:  # noqa: ANN001
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text("SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq"))]


def _set_head(engine, seq: int, h: str) -> None:  # noqa: ANN001
    with engine.begin() as c:
        c.execute(text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": seq, "h": h})


def test_truncating_and_rewriting_the_head_is_detected(gallery):
    for i in range(3):
        person(gallery, f"p{i}", "login", seed=i)
    gallery.search(emb(1), "login", "kiosk")
    assert gallery.verify_audit().ok
    rows = _rows(gallery._engine)
    keep = rows[-3]  # cut the two newest entries, point the head at what is left
    with gallery._engine.begin() as c:
        c.execute(text("DELETE FROM audit_log WHERE seq > :s"), {"s": keep[0]})
    _set_head(gallery._engine, keep[0], keep[2])
    bad = gallery.verify_audit()
    assert not bad.ok and bad.reason == "log truncated or head altered"


def test_rewriting_entries_as_an_unkeyed_chain_is_detected(gallery):
    person(gallery, "Ada", "login", seed=1)
    entries = gallery.audit_entries(limit=100)
    # rewrite the newest entry and re-seal it the way a plain SHA-256 chain allows
    last = entries[-1]
    forged = entry_hash(last.prev_hash, last.seq, last.at, last.actor, last.action, last.purpose, last.target,
                        "refused", last.details)
    with gallery._engine.begin() as c:
        c.execute(text("UPDATE audit_log SET outcome = 'refused', hash = :h WHERE seq = :s"),
                  {"h": forged, "s": last.seq})
    _set_head(gallery._engine, last.seq, forged)
    bad = gallery.verify_audit()
    assert not bad.ok and bad.first_bad == last.seq


def test_the_key_lives_outside_the_database_next_to_the_template_keys(gallery):
    person(gallery, "Ada", "login")
    s = get_settings()
    path = s.audit_key_file()
    assert path.parent == s.template_key_file().parent and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["keyed_from"] == 1
    key = json.loads(path.read_text())["key"]
    with gallery._engine.connect() as c:  # nothing of it in the store
        for table in ("audit_log", "audit_head"):
            assert key not in repr(c.execute(text(f"SELECT * FROM {table}")).all())


def _legacy_log(url: str, n: int) -> None:
    """A log as the gallery wrote it before the upgrade: plain SHA-256, head = last hash."""
    engine = make_engine(url)
    migrate(engine)
    prev = GENESIS
    with engine.begin() as c:
        for seq in range(1, n + 1):
            at = datetime(2026, 1, 1, 12, 0, seq, tzinfo=timezone.utc)
            details = {"n": seq}
            h = entry_hash(prev, seq, at, "old-version", "identity.create", None, f"t{seq}", "ok", details)
            c.execute(text("INSERT INTO audit_log (seq, at, actor, action, purpose, target, outcome, details, "
                           "prev_hash, hash) VALUES (:seq, :at, 'old-version', 'identity.create', NULL, :t, 'ok', "
                           ":d, :p, :h)"),
                      {"seq": seq, "at": at.replace(tzinfo=None) if url.startswith("sqlite") else at,
                       "t": f"t{seq}", "d": json.dumps(details), "p": prev, "h": h})
            prev = h
        c.execute(text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": n, "h": prev})
    engine.dispose()


def test_a_chain_written_before_the_upgrade_still_verifies(store_url):
    url = store_url or get_settings().gallery_database_url()
    _legacy_log(url, 5)
    assert not get_settings().audit_key_file().exists()
    g = open_gallery(store_url)
    try:
        assert json.loads(get_settings().audit_key_file().read_text())["keyed_from"] == 6
        v = g.verify_audit()
        assert v.ok and v.checked == 5
        person(g, "Ada", "login", seed=3)
        v = g.verify_audit()
        assert v.ok and v.checked == 8
        rows = _rows(g._engine)
        # old entries are still plain SHA-256, new ones are not
        assert rows[4][2] == _legacy_hash_of(g, 5) and rows[5][2] != _legacy_hash_of(g, 6)
        # cut every keyed entry and restore the pre-upgrade head: detected
        with g._engine.begin() as c:
            c.execute(text("DELETE FROM audit_log WHERE seq > 5"))
        _set_head(g._engine, 5, rows[4][2])
        bad = g.verify_audit()
        assert not bad.ok and bad.reason == "log truncated or head altered"
    finally:
        g.close()
    g2 = open_gallery(store_url)  # reopening does not re-key or re-seal anything
    try:
        assert not g2.verify_audit().ok
    finally:
        g2.close()


def _legacy_hash_of(g, seq: int) -> str:  # noqa: ANN001
    e = g.audit_entries(offset=seq - 1, limit=1)[0]
    return entry_hash(e.prev_hash, e.seq, e.at, e.actor, e.action, e.purpose, e.target, e.outcome, e.details)


def test_tampering_with_a_pre_upgrade_entry_is_still_detected(store_url):
    url = store_url or get_settings().gallery_database_url()
    _legacy_log(url, 4)
    g = open_gallery(store_url)
    try:
        person(g, "Ada", "login")
        with g._engine.begin() as c:
            c.execute(text("UPDATE audit_log SET outcome = 'refused' WHERE seq = 2"))
        bad = g.verify_audit()
        assert not bad.ok and bad.first_bad == 2
    finally:
        g.close()
