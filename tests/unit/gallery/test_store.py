"""The gallery facade on SQLite and on PostgreSQL: identities, consent, search
filters, erasure, retention, audit. Synthetic templates; real faces in integration."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import text, update

from clearsight.errors import IncompatibleTemplatesError, InputError
from clearsight.gallery import ConflictError, ConsentRequiredError, NotFoundError, Purpose
from clearsight.gallery.store import ConsentRow, TemplateRow
from clearsight.types import Embedding

from .helpers import MODEL, emb, near, person

pytestmark = pytest.mark.unit


def test_schema_matches_models(gallery):
    """The Alembic migration and the ORM describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from clearsight.gallery.store import Base

    with gallery._engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_identity_lifecycle_and_errors(gallery):
    a = gallery.create_identity("emp-1", "Ada", {"team": "x"}, actor="hr")
    assert gallery.get_identity(a.id).attributes == {"team": "x"}
    assert gallery.find_identity("emp-1").id == a.id
    with pytest.raises(ConflictError) as e:
        gallery.create_identity("emp-1", "Someone else", actor="hr")
    assert e.value.http_status == 409
    with pytest.raises(NotFoundError) as e:
        gallery.get_identity("nope")
    assert e.value.http_status == 404
    with pytest.raises(InputError):
        gallery.create_identity(None, "  ", actor="hr")
    with pytest.raises(InputError):
        gallery.create_identity(None, "Bob", actor="")
    names = [i.display_name for i in gallery.list_identities()]
    assert names == ["Ada"]


def test_consent_validation(gallery):
    a = gallery.create_identity(None, "Ada", actor="t")
    with pytest.raises(InputError, match="unknown purpose"):
        gallery.add_consent(a.id, "marketing", "consent", "ada", actor="t")
    with pytest.raises(InputError, match="past"):
        gallery.add_consent(a.id, "login", "consent", "ada", datetime.now(timezone.utc) - timedelta(days=1), actor="t")
    with pytest.raises(InputError):
        gallery.add_consent(a.id, "login", "", "ada", actor="t")
    with pytest.raises(NotFoundError):
        gallery.add_consent("missing", "login", "consent", "ada", actor="t")
    c = gallery.add_consent(a.id, Purpose.KYC, "contract", "ada", datetime.now() + timedelta(days=30), actor="t")
    assert c.purpose == "kyc" and c.expires_at.tzinfo is not None
    w = gallery.withdraw_consent(c.id, actor="ada")
    assert w.withdrawn_at is not None and w.withdrawn_by == "ada"


def test_enrol_requires_consent(gallery):
    a = gallery.create_identity(None, "Ada", actor="t")
    with pytest.raises(ConsentRequiredError) as e:
        gallery.enrol_embedding(a.id, emb(1), "t")
    assert e.value.http_status == 403
    assert gallery.audit_entries(action="enrol")[-1].outcome == "refused"
    with pytest.raises(NotFoundError):
        gallery.enrol_embedding("missing", emb(1), "t")
    with pytest.raises(IncompatibleTemplatesError):
        gallery.add_consent(a.id, "login", "consent", "ada", actor="t")
        gallery.enrol_embedding(a.id, Embedding(emb(1).vector, "other-model"), "t")


def test_search_finds_the_right_identity_and_respects_purpose(gallery):
    people = [person(gallery, f"p{i}", "login" if i % 2 == 0 else "watchlist", seed=i) for i in range(12)]
    m = gallery.search(near(4), "login", "kiosk", top_k=3)
    assert m[0].identity_id == people[4].id
    assert m[0].operating_point == "strict" and m[0].display_name == "p4"
    assert m[0].similarity > 0.99 and all(x.similarity < 0.5 for x in m[1:])
    # p5 holds only a watchlist consent: never returned for login, found for watchlist
    assert people[5].id not in {x.identity_id for x in gallery.search(near(5), "login", "kiosk", top_k=12)}
    assert gallery.search(near(5), "watchlist", "guard", top_k=1)[0].identity_id == people[5].id
    # no identity holds a facepay consent
    assert gallery.search(near(4), "facepay", "till") == []
    with pytest.raises(InputError):
        gallery.search(near(4), None, "kiosk")
    with pytest.raises(InputError):
        gallery.search(near(4), "login", "kiosk", top_k=0)
    with pytest.raises(IncompatibleTemplatesError):
        gallery.search(Embedding(emb(4).vector, "other-model"), "login", "kiosk")


def test_withdrawn_and_expired_consent_exclude_identity(gallery):
    a = person(gallery, "Ada", None, seed=None)
    c = gallery.add_consent(a.id, "access", "consent", "ada", datetime.now(timezone.utc) + timedelta(days=1), actor="t")
    gallery.enrol_embedding(a.id, emb(7), "t")
    b = person(gallery, "Bob", "access", seed=8)
    assert gallery.search(emb(7), "access", "door")[0].identity_id == a.id
    # time passes: the consent expires (moved into the past directly in the store)
    with gallery._session() as s, s.begin():
        s.execute(update(ConsentRow).where(ConsentRow.id == c.id)
                  .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert a.id not in {m.identity_id for m in gallery.search(emb(7), "access", "door", top_k=5)}
    c2 = gallery.add_consent(a.id, "access", "consent", "ada", actor="t")
    assert gallery.search(emb(7), "access", "door")[0].identity_id == a.id
    gallery.withdraw_consent(c2.id, actor="ada")
    hits = gallery.search(emb(7), "access", "door", top_k=5)
    assert [m.identity_id for m in hits] == [b.id]


def test_group_filter(gallery):
    people = [person(gallery, f"p{i}", "watchlist", seed=100 + i) for i in range(6)]
    g = gallery.create_group("shoplifters")
    with pytest.raises(ConflictError):
        gallery.create_group("shoplifters")
    gallery.add_member(g, people[1].id)
    gallery.add_member("shoplifters", people[2].id)
    assert gallery.list_groups()[0].member_count == 2
    hits = gallery.search(emb(103), "watchlist", "cam1", top_k=5, group="shoplifters")
    assert {m.identity_id for m in hits} == {people[1].id, people[2].id}
    gallery.remove_member(g, people[2].id)
    assert [m.identity_id for m in gallery.search(emb(102), "watchlist", "cam1", group=g)] == [people[1].id]
    with pytest.raises(NotFoundError):
        gallery.search(emb(1), "watchlist", "cam1", group="nope")


def test_erasure_removes_everything_but_the_audit_entry(gallery):
    a = person(gallery, "Ada", "login", seed=21)
    gallery.enrol_embedding(a.id, near(21), "t")
    b = person(gallery, "Bob", "login", seed=22)
    g = gallery.create_group("staff")
    gallery.add_member(g, a.id)
    assert gallery.search(emb(21), "login", "t")[0].identity_id == a.id
    assert gallery.erase_identity(a.id, "dpo") == {"templates": 2, "consents": 1}
    with pytest.raises(NotFoundError):
        gallery.get_identity(a.id)
    with pytest.raises(NotFoundError):
        gallery.erase_identity(a.id, "dpo")
    hits = gallery.search(emb(21), "login", "t", top_k=5)
    assert [m.identity_id for m in hits] == [b.id]
    with gallery._session() as s:
        assert s.execute(text("SELECT count(*) FROM templates WHERE identity_id = :i"), {"i": a.id}).scalar() == 0
        assert s.execute(text("SELECT count(*) FROM consents WHERE identity_id = :i"), {"i": a.id}).scalar() == 0
        assert s.execute(text("SELECT count(*) FROM group_members WHERE identity_id = :i"), {"i": a.id}).scalar() == 0
    assert len(gallery._sync.index) == 1
    erase = gallery.audit_entries(action="erase")
    assert len(erase) == 1 and erase[0].target == a.id and erase[0].actor == "dpo"
    assert gallery.verify_audit().ok


def test_retention_purges_expired_and_withdrawn(gallery):
    a = person(gallery, "Ada", "login", seed=31)
    b = person(gallery, "Bob", "login", seed=32)
    c = person(gallery, "Cy", None)
    cons = gallery.add_consent(c.id, "kyc", "contract", "cy", actor="t")
    gallery.enrol_embedding(c.id, emb(33), "t")
    gallery.add_consent(b.id, "kyc", "contract", "bob", actor="t")
    with gallery._session() as s, s.begin():  # Ada's only consent expires
        s.execute(update(ConsentRow).where(ConsentRow.identity_id == a.id)
                  .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    gallery.withdraw_consent(cons.id, actor="cy")
    rep = gallery.purge_expired("retention-job")
    assert (rep.consents_purged, rep.templates_purged, rep.identities_affected) == (2, 2, 2)
    assert gallery.get_identity(a.id).template_count == 0
    assert gallery.get_identity(b.id).template_count == 1
    assert len(gallery._sync.index) == 1
    assert {e.target for e in gallery.audit_entries(action="retention.purge")} == {a.id, c.id}
    assert gallery.purge_expired("retention-job").templates_purged == 0


def test_audit_records_without_biometrics_and_detects_tampering(gallery):
    a = person(gallery, "Ada", "login", seed=41)
    gallery.search(emb(41), "login", "kiosk-7")
    gallery.export_identity(a.id, "dpo")
    entries = gallery.audit_entries(limit=1000)
    actions = [e.action for e in entries]
    for needed in ("identity.create", "consent.grant", "enrol", "search", "match", "export"):
        assert needed in actions
    search = next(e for e in entries if e.action == "search")
    assert search.purpose == "login" and search.actor == "kiosk-7" and search.outcome == "match"
    # no vector or image anywhere in the log
    for e in entries:
        flat = repr(e.details)
        assert len(flat) < 400 and "vector" not in flat
    v = gallery.verify_audit()
    assert v.ok and v.checked == len(entries)

    # tamper: rewrite one entry's outcome
    victim = entries[3].seq
    with gallery._engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET outcome = 'rejected' WHERE seq = :s"), {"s": victim})
    bad = gallery.verify_audit()
    assert not bad.ok and bad.first_bad == victim and bad.checked == victim - 1
    with gallery._engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET outcome = :o WHERE seq = :s"),
                     {"o": entries[3].outcome, "s": victim})
    assert gallery.verify_audit().ok
    # tamper: delete the newest entry (truncation)
    with gallery._engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": entries[-1].seq})
    bad = gallery.verify_audit()
    assert not bad.ok and bad.first_bad == entries[-1].seq


def test_audit_delete_in_the_middle_is_detected(gallery):
    person(gallery, "Ada", "login", seed=51)
    gallery.search(emb(51), "login", "t")
    with gallery._engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    v = gallery.verify_audit()
    assert not v.ok and v.first_bad == 2


def test_export_has_no_biometric(gallery):
    a = person(gallery, "Ada", "kyc", seed=61)
    out = gallery.export_identity(a.id, "dpo")
    assert out["identity"]["display_name"] == "Ada" and len(out["templates"]) == 1
    assert set(out["templates"][0]) == {"template_id", "model", "quality_score", "created_at"}


def test_templates_are_stored_protected(gallery):
    a = person(gallery, "Ada", "login", seed=71)
    raw = emb(71).vector.astype("<f4").tobytes()
    with gallery._session() as s:
        row = s.query(TemplateRow).filter_by(identity_id=a.id).one()
    assert row.model == MODEL and row.dim == 128 and len(row.nonce) == 12
    assert raw not in row.ciphertext and raw[:16] not in row.ciphertext
    # the index holds the key-transformed vector, not the template
    _, ids = gallery._sync.index.search(emb(71).vector.reshape(1, -1), 1)
    stored = gallery._sync.active_vectors(ids[0][:1])[0]
    assert abs(float(np.dot(stored, emb(71).vector))) < 0.5


def test_reopen_catches_up_the_index(store_url, tmp_path):
    from .helpers import open_gallery

    g = open_gallery(store_url)
    a = person(g, "Ada", "login", seed=81)
    g.close()
    g2 = open_gallery(store_url)
    # another writer adds a template behind this gallery's back: seen at the next search
    g3 = open_gallery(store_url)
    b = person(g3, "Bob", "login", seed=82)
    g3.close()
    assert g2.search(emb(82), "login", "t")[0].identity_id == b.id
    assert g2.search(emb(81), "login", "t")[0].identity_id == a.id
    g2.close()


def test_gallery_on_milvus_lite(tmp_path):
    pytest.importorskip("milvus_lite", reason="milvus-lite not installed")
    from .helpers import open_gallery

    g = open_gallery(index="milvus", milvus_uri=str(tmp_path / "milvus.db"))
    try:
        people = [person(g, f"m{i}", "access", seed=900 + i) for i in range(5)]
        assert g.search(near(902), "access", "gate")[0].identity_id == people[2].id
        g.erase_identity(people[2].id, "dpo")
        assert people[2].id not in {m.identity_id for m in g.search(emb(902), "access", "gate", top_k=5)}
        assert g.stats()["index"]["backend"] == "milvus" and len(g._sync.index) == 4
    finally:
        g.close()


def test_gallery_on_a_milvus_server(milvus_server_uri):
    """The production shape: `index=milvus` with an http:// URI reaches a real server over
    gRPC, under the collection name the gallery derives (prefix, model, key id hex)."""
    from .helpers import open_gallery

    g = open_gallery(index="milvus", milvus_uri=milvus_server_uri)
    try:
        people = [person(g, f"s{i}", "access", seed=950 + i) for i in range(5)]
        assert g.search(near(952), "access", "gate")[0].identity_id == people[2].id
        g.erase_identity(people[2].id, "dpo")
        assert people[2].id not in {m.identity_id for m in g.search(emb(952), "access", "gate", top_k=5)}
        d = g.stats()["index"]
        assert d["backend"] == "milvus" and d["uri"] == milvus_server_uri and d["vectors"] == 4
    finally:
        g.close()


def test_gallery_on_the_large_gallery_index(tmp_path):
    """The IVF index in two shards (what a gallery past `exact_max` uses): consent
    filter, erasure and reopen behave as on the exact index."""
    from .helpers import open_gallery

    g = open_gallery(index="compressed", index_shards=2)
    try:
        people = [person(g, f"p{i}", "access" if i % 3 else "login", seed=3000 + i) for i in range(1100)]
        desc = g.stats()["index"]
        assert desc["kind"].startswith("IVF") and desc["shards"] == 2 and desc["vectors"] == 1100
        assert g.search(near(3004), "access", "gate")[0].identity_id == people[4].id
        # a login-only person is never returned for access, however close the probe
        assert people[3].id not in {m.identity_id for m in g.search(emb(3003), "access", "gate", top_k=5)}
        g.erase_identity(people[4].id, "dpo")
        assert people[4].id not in {m.identity_id for m in g.search(emb(3004), "access", "gate", top_k=5)}
    finally:
        g.close()
    g2 = open_gallery(index="compressed", index_shards=2)
    try:
        assert g2.search(near(3007), "access", "gate")[0].identity_id == people[7].id  # loads the index
        assert g2.stats()["index"]["vectors"] == 1099 and g2.stats()["index"]["shards"] == 2
    finally:
        g2.close()
