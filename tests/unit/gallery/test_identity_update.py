"""Gallery.update_identity: metadata changes, uniqueness, and an audit entry that
names the changed fields but never copies their values."""

from __future__ import annotations

import pytest

from clearsight.errors import InputError
from clearsight.gallery import ConflictError, NotFoundError

from .helpers import emb, person

pytestmark = pytest.mark.unit


def test_update_changes_only_the_given_fields_and_keeps_templates(gallery):
    a = person(gallery, "Ada", seed=51)
    gallery.update_identity(a.id, "hr", external_id="emp-7")
    b = gallery.update_identity(a.id, "hr", display_name="  Ada Lovelace ", attributes={"site": "lab"})
    assert (b.display_name, b.attributes, b.external_id) == ("Ada Lovelace", {"site": "lab"}, "emp-7")
    assert b.template_count == 1 and b.created_at == a.created_at
    assert gallery.find_identity("emp-7").id == a.id
    # attributes replace the whole object; the name stays
    c = gallery.update_identity(a.id, "hr", attributes={"team": "x"})
    assert c.attributes == {"team": "x"} and c.display_name == "Ada Lovelace"
    hits = gallery.search(emb(51), "login", "t", top_k=1)
    assert hits[0].identity_id == a.id and hits[0].display_name == "Ada Lovelace"


def test_update_is_audited_by_field_name_never_by_value(gallery):
    a = person(gallery, "Ada")
    gallery.update_identity(a.id, "hr:jane", display_name="Secret Name", attributes={"note": "private"},
                            external_id="emp-99")
    gallery.update_identity(a.id, "hr:jane", display_name="Secret Name")  # nothing actually changes
    first, second = gallery.audit_entries(action="identity.update", limit=10)
    assert (first.actor, first.target, first.outcome) == ("hr:jane", a.id, "ok")
    assert first.details == {"changed": ["attributes", "display_name", "external_id"]}
    assert second.details == {"changed": []}
    flat = repr([first.to_dict(), second.to_dict()])
    assert "Secret" not in flat and "private" not in flat and "emp-99" not in flat
    assert gallery.verify_audit().ok


def test_external_id_conflict_unknown_identity_and_empty_update_are_refused(gallery):
    gallery.create_identity("emp-1", "Ada", actor="hr")
    b = gallery.create_identity("emp-2", "Bob", actor="hr")
    with pytest.raises(ConflictError) as e:
        gallery.update_identity(b.id, "hr", external_id="emp-1")
    assert e.value.http_status == 409
    assert gallery.get_identity(b.id).external_id == "emp-2"
    assert gallery.count_audit_entries(action="identity.update") == 0  # rolled back with the row
    with pytest.raises(NotFoundError):
        gallery.update_identity("nobody", "hr", display_name="X")
    with pytest.raises(InputError):
        gallery.update_identity(b.id, "hr")
    for bad in ({"display_name": "  "}, {"external_id": ""}, {"attributes": ["not", "a", "dict"]}):
        with pytest.raises(InputError):
            gallery.update_identity(b.id, "hr", **bad)
    with pytest.raises(InputError):
        gallery.update_identity(b.id, "", display_name="X")
