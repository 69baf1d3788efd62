"""The retail page in a real browser (Debian chromium via Playwright): a day of stored retail
events drawn as SVG bar charts and a canvas heatmap, and the CSV export downloaded."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in
from tests.e2e.test_console import _shot
from tests.live_server import service_with_key
from tests.unit.server.test_retail_report import day_events

pytestmark = pytest.mark.e2e


def test_retail_page(browser, tmp_path):
    from clearsight.config import Settings
    from clearsight.rules.sinks import EventStore

    data = tmp_path / "data"
    data.mkdir()
    store = EventStore(Settings(data_dir=data).events_database_url(), snapshot_key=b"k" * 32)
    for e in day_events():
        store.emit(e)
    store.close()
    with service_with_key(data, "operator") as (base, key):
        ctx = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
        page = ctx.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        offsite: list[str] = []
        page.on("request", lambda r: offsite.append(r.url) if not r.url.startswith((base, "data:", "blob:")) else None)
        sign_in(page, base, key)
        page.get_by_role("link", name="Retail").click()
        page.locator("#rt-date").fill("2026-03-14")
        page.get_by_role("button", name="Show").click()
        page.locator("#rt-footfall tr[data-line=door]").wait_for(timeout=15_000)
        assert page.locator("#rt-footfall tr[data-line=door] td").all_inner_texts() == ["shop", "door", "8", "7"]
        # one bar per hour and direction; the 09:00 "in" bar carries 5
        values = page.locator("#rt-footfall rect.rt-bar").evaluate_all("(rs) => rs.map((r) => +r.dataset.value)")
        assert len(values) == 48 and values[18] == 5 and sum(values) == 15
        dwell = page.locator("#rt-dwell rect.rt-bar").evaluate_all("(rs) => rs.map((r) => +r.dataset.value)")
        assert dwell == [1, 1, 2, 0, 0, 0, 1]
        assert page.locator("#rt-queue rect.rt-bar").count() == 48
        lit = page.locator("#rt-heat-shop").evaluate(
            "(c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            " let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 60) n++; return n; }")
        assert lit == 12 * 12  # exactly the one hot cell of the 4x3 grid, 12 px square
        _shot(page, "40-retail-report")
        with page.expect_download() as dl:
            page.get_by_role("button", name="CSV: footfall").click()
        text = open(dl.value.path(), encoding="utf-8").read().splitlines()
        assert text[0] == "date,hour,camera,line,in,out" and "2026-03-14,9,shop,door,5,1" in text
        assert not problems, problems
        assert not offsite, offsite
        ctx.close()
