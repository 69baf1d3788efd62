"""Issue 19 item 6: identity attributes are bounded (a 15 MB value and a 100k-key map were stored)."""

from __future__ import annotations

import pytest

from clearsight.errors import InputError
from clearsight.gallery.records import MAX_ATTRIBUTE_BYTES, checked_attributes

from .helpers import open_gallery

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("attributes", [
    {"blob": "x" * (15 * 1024 * 1024)},
    {f"k{i}": i for i in range(100_000)},
    {"a": {"b": {"c": {"d": {"e": 1}}}}},
    ["not", "an", "object"],
])
def test_oversized_or_deep_attributes_are_refused(attributes):
    with pytest.raises(InputError):
        checked_attributes(attributes)


def test_ordinary_attributes_pass_unchanged():
    attrs = {"employee": "E-42", "department": "R&D", "badges": ["a", "b"], "site": {"city": "Lyon"}}
    assert checked_attributes(attrs) == attrs
    assert checked_attributes({"note": "x" * (MAX_ATTRIBUTE_BYTES - 20)})


def test_the_gallery_refuses_them_on_create_and_update():
    g = open_gallery()
    try:
        with pytest.raises(InputError):
            g.create_identity("e1", "Ada", {"blob": "x" * (MAX_ATTRIBUTE_BYTES + 1)}, actor="t")
        assert g.count_identities() == 0
        ada = g.create_identity("e1", "Ada", {"employee": "E-1"}, actor="t")
        with pytest.raises(InputError):
            g.update_identity(ada.id, "t", attributes={f"k{i}": i for i in range(1000)})
        assert g.get_identity(ada.id).attributes == {"employee": "E-1"}
    finally:
        g.close()
