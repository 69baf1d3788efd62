"""The watchlist in candidates mode on real footage: face_recognition's Hamilton clip,
with the two people of its example enrolled. With 1:1 `balanced` thresholds the
default watchlist (min_quality 0.35) found nobody; the open-set candidates threshold
at the watchlist's FPIR over N finds Lin-Manuel Miranda, for a human to review."""

from __future__ import annotations

import pytest

from tests.conftest import data_path

pytestmark = pytest.mark.integration

EX = ("faces", "face_recognition_examples", "examples")


def test_default_watchlist_finds_the_enrolled_person_as_a_candidate(_isolated_data_dir):
    from clearsight.apps.compose import build_pipeline
    from clearsight.gallery import Gallery
    from clearsight.rules import MemorySink
    from clearsight.stream.config import WatchlistConfig, parse_camera

    assert WatchlistConfig().min_quality == 0.35  # the default under test
    g = Gallery.open()
    ids = {}
    for name, photo in (("Lin-Manuel Miranda", "lin-manuel-miranda.png"), ("Alex Lacamoire", "alex-lacamoire.png")):
        ident = g.create_identity(None, name, actor="t")
        g.add_consent(ident.id, "watchlist", "legitimate interest (venue ban list)", "security", actor="t")
        g.enrol(ident.id, data_path(*EX, photo), "t")
        ids[name] = ident.id
    cfg = parse_camera({"name": "stage", "source": str(data_path(*EX, "short_hamilton_clip.mp4")), "watchlist": {}})
    mem = MemorySink()
    pipe = build_pipeline(cfg, extra_sinks=[(mem, "all")], gallery=g)
    pipe.run()
    pipe.close()
    alerts = [e for e in mem.events if e.type == "watchlist.match"]
    assert alerts and {e.data["identity_id"] for e in alerts} == {ids["Lin-Manuel Miranda"]}
    for e in alerts:
        assert e.data["mode"] == "candidates" and e.data["review"] == "human" and e.data["n"] == 2
        assert e.data["fpir"] == g.gs.candidates_fpir and e.data["similarity"] >= e.data["threshold"]
    entries = g.audit_entries(limit=1000)
    searches = [a for a in entries if a.action == "search" and a.actor == "camera:stage"]
    assert searches and all(a.outcome == "candidates" and a.details["mode"] == "candidates" for a in searches)
    assert not [a for a in entries if a.action == "match" and a.actor == "camera:stage"]
    assert {a.target for a in entries if a.action == "candidate"} == {ids["Lin-Manuel Miranda"]}
    g.close()
