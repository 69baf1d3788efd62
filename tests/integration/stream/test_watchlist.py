"""Watchlist on composed scenes: one alert per track, only identities with a valid watchlist consent."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from clearsight.face.pipeline import default_pipeline
from clearsight.rules import MemorySink
from clearsight.apps.compose import build_pipeline
from clearsight.stream.config import parse_camera
from clearsight.stream.recognition import MemoryIdentifier

pytestmark = pytest.mark.integration


def _run(composed, watchlist: dict, **kw):
    cfg = parse_camera({"name": "gate", "source": str(composed.video), "watchlist": watchlist})
    mem = MemorySink()
    pipe = build_pipeline(cfg, extra_sinks=[(mem, "all")], **kw)
    summary = pipe.run()
    pipe.close()
    return [e for e in mem.events if e.type == "watchlist.match"], summary, pipe


def test_memory_watchlist_alerts_once_per_enrolled_person(composed):
    fp = default_pipeline()
    listed = composed.people[:3]  # photo 0 enrolled; the video shows photo 1
    ident = MemoryIdentifier(np.stack([fp.embed(ph[0]).vector for _, ph in listed]), [n for n, _ in listed],
                             model=fp.embedder.model_id)
    alerts, summary, _ = _run(composed, {"samples": 3}, watchlist_identifier=ident)
    got = sorted(e.data["identity_id"] for e in alerts)
    assert got == sorted(n for n, _ in listed)  # each listed person exactly once; nobody else
    assert len({e.track_ids for e in alerts}) == len(alerts)
    for e in alerts:
        assert e.snapshot_jpeg and e.data["votes"] >= 2 and e.data["similarity"] >= e.data["threshold"]


@pytest.fixture
def gallery(_isolated_data_dir):
    try:
        from clearsight.gallery import Gallery
    except ImportError as exc:  # pragma: no cover - the gallery area not in this build
        pytest.skip(f"gallery not available: {exc}")
    g = Gallery.open()
    yield g
    g.close()


def test_gallery_watchlist_respects_consent_group_and_audits(composed, gallery):
    g = gallery
    people = composed.people
    ids = {}
    for name, photos in people[:5]:
        ident = g.create_identity(name, name.replace("_", " "), actor="admin")
        ids[name] = ident.id
    now = datetime.now(timezone.utc)
    p = [n for n, _ in people]
    # 0: on the watchlist (group "banned"); 1: watchlist consent but expired; 2: only `access` consent;
    # 3: watchlist consent withdrawn; 4: watchlist consent but not in the group
    g.add_consent(ids[p[0]], "watchlist", "court order 17/2026", "legal", None, actor="admin")
    # person 1 first: enrolled at once, so its short consent cannot lapse before its enrolment on a loaded machine
    expiry = now + timedelta(seconds=10)
    g.add_consent(ids[p[1]], "watchlist", "court order 18/2026", "legal", expiry, actor="admin")
    g.enrol(ids[p[1]], people[1][1][0], actor="admin")
    g.add_consent(ids[p[2]], "access", "employee badge", "hr", None, actor="admin")
    c3 = g.add_consent(ids[p[3]], "watchlist", "legitimate interest", "security", None, actor="admin")
    g.add_consent(ids[p[4]], "watchlist", "legitimate interest", "security", None, actor="admin")
    for name, photos in people[:5]:
        if name != p[1]:
            g.enrol(ids[name], photos[0], actor="admin")
    g.withdraw_consent(c3.id, actor="admin")
    grp = g.create_group("banned")
    for n in p[:4]:
        g.add_member(grp.name, ids[n])
    import time

    time.sleep(max(0.0, (expiry - datetime.now(timezone.utc)).total_seconds()) + 0.2)

    alerts, _, _ = _run(composed, {"samples": 3, "group": "banned"}, gallery=g)
    assert [e.data["identity_id"] for e in alerts] == [ids[p[0]]]
    assert alerts[0].data["group"] == "banned" and alerts[0].data["display_name"] == p[0].replace("_", " ")

    # without the group restriction, person 4 (valid watchlist consent) alerts too; 1, 2, 3 never do
    alerts, _, _ = _run(composed, {"samples": 3}, gallery=g)
    assert sorted(e.data["identity_id"] for e in alerts) == sorted([ids[p[0]], ids[p[4]]])

    entries = g.audit_entries(limit=1000)
    searches = [a for a in entries if a.action == "search" and a.actor == "camera:gate"]
    matches = [a for a in entries if a.action == "match" and a.actor == "camera:gate"]
    assert searches and all(a.purpose == "watchlist" for a in searches)
    assert {a.target for a in matches} <= {ids[p[0]], ids[p[4]]}
    assert g.verify_audit().ok
