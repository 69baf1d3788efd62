"""The traffic page in a real browser (Debian chromium via Playwright) against a real
service: counts per class and incidents with snapshots from the event store, an audited
plate search with an on-demand crop, a hot-list refused without a legal basis and created
with one, and the calibration helper (4 clicks on a real photo + typed ground coordinates
-> the YAML of a camera file's calibration section). Screenshots go to artifacts/e2e/."""

from __future__ import annotations

import time

import httpx
import pytest
import yaml

from tests.conftest import data_path
from tests.e2e.conftest import sign_in
from tests.e2e.test_console import _shot
from tests.live_server import running_app

pytestmark = pytest.mark.e2e

PHOTO = ("plates", "openalpr", "endtoend", "eu", "eu11.jpg")  # a real car, plate BS47040 at (92, 201, 214, 229)


@pytest.fixture
def traffic_service(tmp_path):
    from clearsight.config import Settings
    from clearsight.io import encode_jpeg, load_image
    from clearsight.rules.events import make_event
    from clearsight.rules.sinks import EventStore
    from clearsight.server.app import create_app
    from clearsight.settings import ServerSettings

    settings = Settings(data_dir=tmp_path / "data", models_dir=Settings().model_dir)
    app = create_app(settings, ServerSettings(warmup=False))
    state = app.state.clearsight
    _, key = state.keys.create("admin", "traffic e2e")
    photo = load_image(data_path(*PHOTO))
    now = time.time()
    store = EventStore(settings.events_database_url())
    for i, cls in enumerate(["car", "car", "truck", "car", "bus"]):
        store.emit(make_event("traffic.crossing", "junction", now - 600 + 60 * i, (i,), None, line="north",
                              direction="in", **{"class": cls}))
    store.emit(make_event("vehicle.stopped", "junction", now - 120, (9,), photo[100:300, 40:300], zone="box",
                          duration_s=12.5, **{"class": "car"}))
    store.emit(make_event("vehicle.speed", "junction", now - 100, (9,), None, median_kmh=31.0, **{"class": "car"}))
    store.close()
    state.plates.record(camera="junction", at=now - 90, text="BS47040", confidence=0.93, country="eu", track_id=9,
                        votes=3, crop_jpeg=encode_jpeg(photo[196:234, 88:218]))
    with running_app(app) as base:
        yield base, key


def test_traffic_page(traffic_service, browser):
    base, key = traffic_service
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "422" not in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    offsite: list[str] = []
    page.on("request", lambda r: offsite.append(r.url) if not r.url.startswith((base, "data:", "blob:")) else None)
    page.on("dialog", lambda d: d.accept())

    sign_in(page, base, key)
    page.get_by_role("link", name="Traffic").click()

    # counts per class from traffic.crossing events; incidents with their snapshot, not per-track speeds
    page.locator("#tr-counts li[data-class=car]").wait_for(timeout=15_000)
    assert page.locator("#tr-counts li[data-class=car] strong").inner_text() == "3"
    assert page.locator("#tr-counts li[data-class=truck] strong").inner_text() == "1"
    assert page.locator("#tr-counts svg rect").count() >= 3
    page.wait_for_function("() => [...document.querySelectorAll('#tr-incidents li[data-type=\"vehicle.stopped\"] img')]"
                           ".some((i) => !i.hidden && i.naturalWidth > 100)", timeout=15_000)
    assert page.locator("#tr-incidents li[data-type='vehicle.speed']").count() == 0

    # plate search: a bad pattern is refused with the reason; a wildcard finds the read; its crop on request
    search = page.locator("#tr-plate-search")
    search.get_by_label("plate pattern").fill("*?")
    search.get_by_role("button", name="Search plates").click()
    assert "at least 2 characters" in page.locator("#tr-plate-results .error").inner_text(timeout=10_000)
    search.get_by_label("plate pattern").fill("bs?70*")
    search.get_by_role("button", name="Search plates").click()
    row = page.locator("#tr-plate-results tr[data-plate=BS47040]")
    row.wait_for(timeout=10_000)
    row.get_by_role("button", name="Show").click()
    page.wait_for_function("() => { const i = document.querySelector('#tr-plate-results img.tr-crop');"
                           " return i && i.naturalWidth > 100; }", timeout=10_000)

    # hot-lists: no legal basis, no list
    page.get_by_text("New hot-list").click()
    form = page.locator("#tr-hotlist-form")
    form.get_by_label("Name").fill("stolen")
    form.get_by_label("Purpose").select_option("enforcement")
    form.get_by_label("Plates").fill("BS-47040, XY999")
    form.get_by_role("button", name="Create hot-list").click()
    assert "legal" in form.locator(".error").inner_text(timeout=10_000).lower()
    form.get_by_label("Legal basis (required)").fill("police request 2026/114")
    form.get_by_role("button", name="Create hot-list").click()
    hl = page.locator("#tr-hotlists article[data-hotlist=stolen]")
    hl.wait_for(timeout=10_000)
    assert "BS47040" in hl.inner_text() and "police request 2026/114" in hl.inner_text()
    _shot(page, "20-traffic")

    # calibration: three points on one line are refused; 4 good ones + ground coordinates give the YAML
    page.locator("#tr-calibration input[type=file]").set_input_files(str(data_path(*PHOTO)))
    canvas = page.locator("#tr-calib-canvas")
    canvas.wait_for(state="visible", timeout=10_000)
    box = canvas.bounding_box()
    sx, sy = box["width"] / 600, box["height"] / 387
    for x, y in [(100, 300), (300, 300), (500, 300), (500, 360)]:
        canvas.click(position={"x": x * sx, "y": y * sy})
    assert "on one line" in page.locator("#tr-calib-note").inner_text()
    page.get_by_role("button", name="Undo point").click()
    page.get_by_role("button", name="Undo point").click()
    for x, y in [(520, 370), (80, 370)]:
        canvas.click(position={"x": x * sx, "y": y * sy})
    for i, (gx, gy) in enumerate([(0, 0), (3.5, 0), (3.5, 6), (0, 6)], start=1):
        page.get_by_label(f"point {i} ground x (m)").fill(str(gx))
        page.get_by_label(f"point {i} ground y (m)").fill(str(gy))
    section = yaml.safe_load(page.locator("#tr-calib-yaml").input_value())["calibration"]
    assert section["image_size"] == [600, 387]
    assert [p["ground"] for p in section["points"]] == [[0, 0], [3.5, 0], [3.5, 6], [0, 6]]
    for got, want in zip((p["image"] for p in section["points"]), [(100, 300), (300, 300), (520, 370), (80, 370)]):
        assert abs(got[0] - want[0]) <= 3 and abs(got[1] - want[1]) <= 3
    _shot(page, "21-traffic-calibration")

    # the browser's plate searches and the crop it showed are in the audit log
    audit = httpx.get(f"{base}/v1/audit", params={"limit": 1000}, headers={"Authorization": f"Bearer {key}"}).json()
    acts = [(e["action"], e["details"].get("pattern")) for e in audit["items"] if e["action"].startswith("plates.")]
    assert acts == [("plates.search", "bs?70*"), ("plates.export", None), ("plates.hotlist.create", None)]
    assert not problems, problems
    assert not offsite, offsite
    ctx.close()
