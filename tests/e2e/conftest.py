"""What the browser tests share: Debian's Chromium (never a browser download), the real
`clearsight serve` process, and an in-process service on a loopback port."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, SHARED_DATA
from tests.live_server import service_with_key

CHROMIUM = os.environ.get("CLEARSIGHT_CHROMIUM", "/usr/bin/chromium")
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def hamilton_camera_y4m(tmp_path: Path) -> Path:
    """A fake-camera clip of a real face: frames 95-210 of `short_hamilton_clip.mp4` (a
    frontal face that turns and opens its mouth), written as the Y4M Chromium plays."""
    import cv2

    from tests.conftest import data_path
    from tests.live_server import write_y4m

    cap = cv2.VideoCapture(str(data_path("faces", "face_recognition_examples", "examples", "short_hamilton_clip.mp4")))
    frames = []
    for i in range(211):
        ok, bgr = cap.read()
        assert ok
        if i >= 95:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    y4m = tmp_path / "cam.y4m"
    write_y4m(y4m, frames, 30)
    return y4m


def fake_camera_args(y4m: Path) -> list[str]:
    """Chromium flags that make a real clip (y4m) the webcam and grant it without a prompt."""
    return [*CHROME_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}"]


def sign_in(page, base: str, key: str) -> None:  # noqa: ANN001 - a Playwright Page
    """Open the console and sign in with `key`, as a user does; returns once the nav shows."""
    page.goto(base + "/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#nav").wait_for(state="visible")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`clearsight serve` on a fresh data dir, as a user would start it."""
    from clearsight.config import Settings

    data = tmp_path_factory.mktemp("e2e-data")
    port = _free_port()
    env = {**os.environ, "CLEARSIGHT_MODELS_DIR": str(Settings().model_dir), "PYTHONUNBUFFERED": "1",
           # the test clips are the media the administrator lets camera sources use
           "CLEARSIGHT_SERVER__REMOTE__MEDIA_ROOTS": json.dumps([str(SHARED_DATA)])}
    env.pop("CLEARSIGHT_DATA_DIR", None)
    log = (tmp_path_factory.mktemp("e2e-log") / "server.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "clearsight.cli", "serve", "--port", str(port), "--data-dir", str(data), "--log-level", "warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=REPO,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        key = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"server exited: {log.read()[-2000:]}")
            log.seek(0)
            m = re.search(r"^\s+(cs_[A-Za-z0-9_-]+)\s*$", log.read(), re.M)
            key = key or (m.group(1) if m else None)
            try:
                if key and httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("server did not become ready in 180 s")
        yield base, key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    chromium_or_skip()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS, headless=True)
        yield b
        b.close()




@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """An in-process service with an operator key: its default budget (600/min) admits a
    page that sends 8 frames a second."""
    with service_with_key(tmp_path_factory.mktemp("e2e-live"), "operator") as (base, key):
        yield base, key


def chromium_or_skip() -> str:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"chromium not found at {CHROMIUM}: apt-get install -y chromium (or set CLEARSIGHT_CHROMIUM)")
    return CHROMIUM
