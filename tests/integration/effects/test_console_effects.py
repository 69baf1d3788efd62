"""The live-effects console page in real Chromium with a fake webcam fed from a real
photo: frames go to POST /v1/effects and come back with the chosen effects."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from tests.conftest import data_path
from tests.e2e.conftest import chromium_or_skip
from tests.live_server import service_with_key, write_y4m

pytestmark = [pytest.mark.e2e, pytest.mark.slow]



@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    with service_with_key(tmp_path_factory.mktemp("fx-e2e"), "client") as served:
        yield served


def test_live_effects_page_with_a_fake_camera(live_server, tmp_path):
    chromium = chromium_or_skip()
    sync_api = pytest.importorskip("playwright.sync_api")
    base, key = live_server
    photo = cv2.imread(str(data_path("faces", "face_recognition_examples", "examples", "obama-480p.jpg")))
    photo = cv2.resize(photo, (640, 480), interpolation=cv2.INTER_AREA)
    y4m = tmp_path / "cam.y4m"
    write_y4m(y4m, [cv2.cvtColor(photo, cv2.COLOR_BGR2RGB)] * 30)
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={y4m}"]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args, headless=True)
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{base}/console/static/effects.html")
        page.locator("#fx-key input[name=key]").fill(key)
        page.get_by_role("button", name="Use this key").click()
        page.locator("#fx-preset option[value=party]").wait_for(state="attached", timeout=30_000)
        page.locator("#fx-preset").select_option("party")
        assert page.locator("[data-sticker=sunglasses]").is_checked()
        page.get_by_role("button", name="Start camera").click()
        page.wait_for_function("() => Number(document.getElementById('fx-stats').dataset.frames) >= 8", timeout=120_000)
        url = page.evaluate("document.getElementById('fx-out').toDataURL('image/png')")
        fps = page.locator("#fx-stats").inner_text()
        page.screenshot(path=str(tmp_path / "effects_page.png"))
        page.get_by_role("button", name="Stop").click()
        browser.close()
    assert not problems, problems
    out = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    assert out.shape == photo.shape
    # the fake camera's frame came back with sunglasses and a top hat drawn on the face
    dark_in, dark_out = (photo.max(axis=2) < 45).mean(), (out.max(axis=2) < 45).mean()
    assert dark_out > dark_in + 0.01, (dark_in, dark_out, fps)
    assert np.abs(out.astype(int) - photo).mean() > 3
