"""The liveness console page in real Chromium, with a fake camera playing real frames
(face_recognition's short_hamilton_clip.mp4, frames 95-210: a singer turning his head
and opening his mouth, looped by Chromium). The server draws a random order; a singer
does not follow prompts, so the page must show the steps, progress, and the result
with its reasons (the pass path is tested on the same real frames at the logic and
REST levels). The passive check of an uploaded printed-photo attack says "not live"."""

from __future__ import annotations

import pytest

from tests.conftest import data_path
from tests.e2e.conftest import chromium_or_skip, fake_camera_args, hamilton_camera_y4m, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_liveness_page_with_a_fake_camera(live_server, tmp_path):
    chromium = chromium_or_skip()
    sync_api = pytest.importorskip("playwright.sync_api")
    base, key = live_server
    y4m = hamilton_camera_y4m(tmp_path)
    photo = data_path("liveness", "antispoof_samples", "images", "image_F1.jpg")  # a printed photo

    args = fake_camera_args(y4m)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args, headless=True)
        page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        sign_in(page, base, key)
        page.get_by_role("link", name="Liveness").click()
        page.wait_for_url("**/#/liveness")

        page.get_by_role("button", name="Start challenge").click()
        page.wait_for_function("() => document.querySelectorAll('#lv-steps li').length === 3", timeout=30_000)
        steps = page.eval_on_selector_all("#lv-steps li", "els => els.map(e => e.dataset.action)")
        page.wait_for_function("() => Number(document.getElementById('lv-stats').dataset.frames) >= 3", timeout=30_000)
        seen_progress = page.evaluate("document.getElementById('lv-status').dataset.status")
        page.wait_for_function("() => ['passed', 'failed'].includes(document.getElementById('lv-status').dataset.status)",
                               timeout=60_000)
        status = page.locator("#lv-status").get_attribute("data-status")
        result = page.locator("#lv-result").inner_text()
        reasons = page.locator("#lv-reasons li").all_inner_texts()
        stats = page.locator("#lv-stats").inner_text()
        assert page.locator("#lv-stop").is_disabled()  # the camera stopped with the result

        page.locator("#lv-passive input[type=file]").set_input_files(str(photo))
        page.get_by_role("button", name="Check photo").click()
        page.wait_for_selector("#lv-passive-out li[data-live]", timeout=30_000)
        verdict = page.locator("#lv-passive-out li").first.get_attribute("data-live")
        page.screenshot(path=str(tmp_path / "liveness_page.png"), full_page=True)
        browser.close()

    assert not problems, problems
    assert len(set(steps)) == 3 and set(steps) <= {"blink", "turn_left", "turn_right", "open_mouth", "nod"}
    assert seen_progress in ("calibrating", "in_progress", "passed", "failed")
    assert "yaw" in stats  # the server measured the real face in the fake camera's frames
    if status == "failed":
        assert reasons and result.startswith("Failed:") and reasons[0] in result, (result, reasons)
    else:
        assert result.startswith("Passed"), result
    assert verdict == "false"
