"""Issue 19 item 4: erasure leaves no traces. The audit log keeps identifying values
only as per-identity pseudonyms (unlinkable once the identity's key is erased), and on
SQLite the display name is neither in `gallery.db-wal` nor in free pages afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from clearsight.gallery import NotFoundError

from .helpers import emb, open_gallery, person

pytestmark = pytest.mark.unit

NAME = "Zebulon Quaxley-Marchetti"
EXTERNAL = "emp-7f3e-quaxley"


def _audit_dump(g) -> str:  # noqa: ANN001
    with g._engine.connect() as c:
        return repr(c.execute(text("SELECT * FROM audit_log")).all())


def test_audit_rows_hold_a_pseudonym_not_the_external_id(gallery):
    a = gallery.create_identity(EXTERNAL, NAME, {"badge": "B-17"}, actor="hr")
    gallery.add_consent(a.id, "access", "consent", "the data subject", actor="hr")
    gallery.update_identity(a.id, "hr", external_id=EXTERNAL + "-2", display_name=NAME + " Jr")
    dump = _audit_dump(gallery)
    assert EXTERNAL not in dump and "Zebulon" not in dump and "B-17" not in dump
    [created] = gallery.audit_entries(action="identity.create")
    # while the person exists, the pseudonym links the row to the external id ...
    assert created.details["external_id"] == gallery.audit_pseudonym(a.id, EXTERNAL)
    assert created.details["external_id"] != gallery.audit_pseudonym(a.id, "emp-other")
    b = gallery.create_identity(EXTERNAL + "-b", "Other", actor="hr")
    assert gallery.audit_pseudonym(b.id, EXTERNAL) != created.details["external_id"]  # keyed per identity
    # ... after erasure nobody can compute it any more
    gallery.erase_identity(a.id, "dpo")
    with pytest.raises(NotFoundError):
        gallery.audit_pseudonym(a.id, EXTERNAL)
    assert gallery.verify_audit().ok


def _db_bytes(data_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in data_dir.glob("gallery.db*")}


def test_erasure_leaves_the_name_in_no_sqlite_file(_isolated_data_dir):
    g = open_gallery()
    try:
        a = person(g, NAME, "login", seed=5)
        g.update_identity(a.id, "hr", external_id=EXTERNAL)
        person(g, "Someone Staying", "login", seed=6)
        with g._engine.connect() as c:
            key = c.execute(text("SELECT pseudonym_key FROM identities WHERE id = :i"), {"i": a.id}).scalar()
        before = _db_bytes(_isolated_data_dir)
        assert any(NAME.encode() in b for b in before.values())  # the probe can see it while it exists
        with g._engine.connect() as c:  # set by the gallery: some SQLite builds default to off
            assert c.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        g.erase_identity(a.id, "dpo")
        after = _db_bytes(_isolated_data_dir)
        for fname, content in after.items():
            for needle in (NAME.encode(), EXTERNAL.encode()):
                assert needle not in content, f"{needle!r} left in {fname}"
        assert key is not None and not any(key in content for content in after.values())  # pseudonyms unlinkable
        assert g.search(emb(6), "login", "t")[0].display_name == "Someone Staying"
        assert g.verify_audit().ok
    finally:
        g.close()
