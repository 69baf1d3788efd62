"""Paging the audit log: newest first, filtered counts, and the CLI flag, on SQLite
and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from clearsight.errors import InputError

from .helpers import person

pytestmark = pytest.mark.unit


def test_newest_first_is_the_oldest_first_order_reversed(gallery):
    for name in ("Ada", "Bob", "Cy", "Di"):
        person(gallery, name)
    oldest = gallery.audit_entries(limit=1000)
    newest = gallery.audit_entries(limit=1000, newest_first=True)
    assert [e.seq for e in newest] == [e.seq for e in reversed(oldest)]
    assert [e.seq for e in oldest] == sorted(e.seq for e in oldest)
    # pages of 3 newest first cover every entry once, in order
    paged = []
    for offset in range(0, len(oldest), 3):
        paged += gallery.audit_entries(offset=offset, limit=3, newest_first=True)
    assert [e.seq for e in paged] == [e.seq for e in newest]
    assert gallery.audit_entries(action="consent.grant", newest_first=True, limit=1)[0].actor == "tester"


def test_count_matches_what_paging_returns_with_the_same_filters(gallery):
    a = person(gallery, "Ada")
    person(gallery, "Bob")
    gallery.export_identity(a.id, "dpo")
    total = gallery.count_audit_entries()
    assert total == len(gallery.audit_entries(limit=1000)) == 5  # 2 creates, 2 consents, 1 export
    assert gallery.count_audit_entries(action="identity.create") == 2
    assert gallery.count_audit_entries(target=a.id) == 3
    assert gallery.count_audit_entries(action="export", target=a.id) == 1
    assert gallery.count_audit_entries(action="erase") == 0
    assert len(gallery.audit_entries(target=a.id, limit=1000)) == 3


def test_paging_arguments_are_checked(gallery):
    with pytest.raises(InputError):
        gallery.audit_entries(offset=-1, newest_first=True)
    with pytest.raises(InputError):
        gallery.audit_entries(limit=0)


def test_cli_lists_the_newest_entries_first():
    from typer.testing import CliRunner

    from clearsight.cli import app

    from .helpers import open_gallery

    with open_gallery() as g:  # the CLI opens the same (per-test) data dir
        for name in ("Ada", "Bob"):
            person(g, name)
        seqs = [e.seq for e in g.audit_entries(limit=1000)]
    run = CliRunner().invoke
    r = run(app, ["gallery", "audit", "--newest-first", "--json", "--limit", "3"])
    assert r.exit_code == 0, r.output
    assert [e["seq"] for e in json.loads(r.output)] == seqs[::-1][:3]
    r = run(app, ["gallery", "audit", "--json"])
    assert [e["seq"] for e in json.loads(r.output)] == seqs
