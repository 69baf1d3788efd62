"""The cameras page in a real browser (Debian chromium via Playwright) against the real
server process: add a camera on a real video file, see the live MJPEG image load,
see events arrive in the timeline over SSE, get a bad rule refused with the field
named, remove the camera. Screenshots go to artifacts/e2e/."""

from __future__ import annotations

import pytest

from tests.conftest import data_path
from tests.e2e.conftest import sign_in
from tests.e2e.test_console import _shot

pytestmark = pytest.mark.e2e

CLIP = ("faces", "face_recognition_examples", "examples", "short_hamilton_clip.mp4")


def test_cameras_page(server, browser):
    base, key = server
    clip = data_path(*CLIP)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    offsite: list[str] = []
    page.on("request", lambda r: offsite.append(r.url) if not r.url.startswith((base, "data:", "blob:")) else None)
    page.on("dialog", lambda d: d.accept())

    sign_in(page, base, key)
    page.get_by_role("link", name="Cameras").click()
    page.get_by_role("button", name="Add a camera").click()
    form = page.locator("#camera-form")
    form.locator("input[name=name]").fill("lobby")
    form.locator("input[name=source]").fill(str(clip))
    form.locator("select[name=detector]").select_option("mediapipe")
    form.locator("input[name=every_n]").fill("2")
    form.get_by_role("button", name="Add camera").click()
    page.locator("#cameras tr[data-camera=lobby]").wait_for(timeout=30_000)

    # the live view: a real JPEG decoded by the browser from the MJPEG stream
    page.wait_for_function(
        "() => { const i = document.getElementById('cam-live'); return i && !i.hidden && i.naturalWidth > 100; }",
        timeout=30_000,
    )
    # events from the camera reach the timeline live, with their snapshot
    item = page.locator("#cam-timeline li[data-type='face.seen']").first
    item.wait_for(timeout=30_000)
    assert "lobby" in item.inner_text()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#cam-timeline img.cam-snap')].some((i) => i.naturalWidth > 0)",
        timeout=15_000,
    )
    _shot(page, "10-cameras-live")

    # a bad rule is refused and the field is named; a good one is saved
    assert not problems, problems
    rules = page.locator("#rules-text")
    rules.fill('{"rules": [{"name": "crowd", "when": {"type": "face.seen", "count": {"at_least": 0, "within_s": 5}}}]}')
    page.get_by_role("button", name="Save rules").click()
    page.locator("#rules-errors", has_text="at_least").wait_for(timeout=10_000)
    rules.fill('{"rules": [{"name": "typo", "when": {"type": "vehicle.stoped"}}]}')
    page.get_by_role("button", name="Save rules").click()
    page.get_by_text("no analyser and no part of the engine emits", exact=False).wait_for(timeout=10_000)
    page.locator("#event-types summary").click()
    page.locator("#event-types code", has_text="zone.enter").wait_for(timeout=10_000)
    problems.clear()  # the browser logs the deliberate 422s above as failed loads
    rules.fill('{"rules": [{"name": "any-face", "when": {"type": "face.seen"}}]}')
    page.get_by_role("button", name="Save rules").click()
    page.locator("#rules-errors").wait_for(state="detached", timeout=10_000)
    _shot(page, "11-cameras-rules")

    page.locator("#cameras tr[data-camera=lobby]").get_by_role("button", name="Remove").click()
    page.locator("#cameras tr[data-camera=lobby]").wait_for(state="detached", timeout=30_000)
    assert not offsite, offsite
    # the live image ends when its camera is removed (a failed image load is expected then)
    real = [p for p in problems if "live.mjpeg" not in p and "net::ERR" not in p]
    assert not real, real
    ctx.close()
