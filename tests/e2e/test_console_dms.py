"""The driver-monitoring console page in real Chromium with a fake camera playing a
clip composed from a real in-car frame (eyes open on the road, then closed): frames
flow to the DMS API at a steady rate, the state appears, the eye-closure alert is
listed, and a video file uploaded on the same page is analysed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import data_path
from tests.e2e.conftest import chromium_or_skip, fake_camera_args, sign_in
from tests.live_server import write_y4m

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

Y4M_FPS = 10


def test_dms_page_with_a_fake_camera(live_server, tmp_path):
    chromium = chromium_or_skip()
    sync_api = pytest.importorskip("playwright.sync_api")
    from clearsight.apps.dms.scenarios import FrameBank, Scenario, write_video

    base, key = live_server
    bank = FrameBank.from_dataset(data_path("dms", "drowsiness_yawn_eyes"))
    # 7 s looking at the road (calibration takes 5 s), then eyes closed for 3 s
    clip = [bank.frames["road"]] * (7 * Y4M_FPS) + [bank.frames["closed"]] * (3 * Y4M_FPS)
    y4m = tmp_path / "cam.y4m"
    write_y4m(y4m, clip, Y4M_FPS)
    video = write_video(bank, Scenario("short", (("road", 1.0), ("closed", 0.6))), 10, tmp_path / "drive.mp4")

    args = fake_camera_args(y4m)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args, headless=True)
        page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        # reached from the console's nav like any page
        sign_in(page, base, key)
        page.get_by_role("link", name="Driver monitoring").click()
        page.wait_for_url("**/dms.html")
        assert page.locator("#dms-key").is_hidden()  # the console's sign-in carried over

        page.get_by_role("button", name="Start camera").click()
        page.wait_for_function("() => Number(document.getElementById('dms-stats').dataset.frames) >= 5", timeout=60_000)
        assert page.locator("#st-face").inner_text() == "present"
        page.wait_for_function("() => document.getElementById('dms-state').dataset.calibrated === 'true'", timeout=60_000)
        page.wait_for_selector("#dms-alerts li[data-type='dms.microsleep']", timeout=60_000)
        alert = page.locator("#dms-alerts li[data-type='dms.microsleep']").first.inner_text()
        frames = int(page.locator("#dms-stats").get_attribute("data-frames"))
        # the overlay drawn by the server is on the canvas, not the raw frame
        url = page.evaluate("document.getElementById('dms-out').toDataURL('image/png')")
        page.get_by_role("button", name="Stop").click()

        page.locator("#dms-upload input[type=file]").set_input_files(str(video))
        page.get_by_role("button", name="Analyse video").click()
        page.wait_for_selector("#dms-report p[data-frames]", timeout=60_000)
        report_frames = int(page.locator("#dms-report p[data-frames]").get_attribute("data-frames"))
        report_rows = page.locator("#dms-report table tr").count()
        page.screenshot(path=str(tmp_path / "dms_page.png"), full_page=True)
        browser.close()

    assert not problems, problems
    assert "Eyes closed" in alert and "microsleep" in alert, alert
    # frames analysed before the alert: the loop paces itself by the server's replies, so
    # under load fewer frames arrive in the same clip time; calibration needs ~10
    assert frames >= 10, frames
    import base64

    out = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    assert out.shape[:2] == (480, 640)
    assert report_frames == 16 and report_rows >= 2
