"""RTSP: a real RTSP server (GStreamer, Debian packages) that goes away and comes back."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from clearsight.io.video import open_source

from .mjpeg_server import free_port

pytestmark = [pytest.mark.unit, pytest.mark.services]

SYSTEM_PY = "/usr/bin/python3"
SERVER = Path(__file__).with_name("rtsp_server.py")


def _start(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([SYSTEM_PY, str(SERVER), str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if "ready" not in line:
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        pytest.skip(f"no local RTSP server (needs python3-gi, gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-good): {err[-200:]}")
    return proc


@pytest.fixture
def rtsp():
    if not Path(SYSTEM_PY).exists():
        pytest.skip("no system python for the GStreamer RTSP server")
    port = free_port()
    state = {"proc": _start(port), "port": port}
    yield state
    state["proc"].terminate()
    state["proc"].wait(5)


def test_rtsp_stream_reconnects_after_the_server_restarts(rtsp):
    url = f"rtsp://127.0.0.1:{rtsp['port']}/test"
    status: list[str] = []
    restarted = threading.Event()

    def on_status(kind, info):
        status.append(kind)
        if kind == "camera.down" and not restarted.is_set():
            restarted.set()

            def back():
                time.sleep(0.5)
                rtsp["proc"] = _start(rtsp["port"])

            threading.Thread(target=back, daemon=True).start()

    src = open_source(url, on_status=on_status, backoff_initial=0.2, backoff_max=1.0, timeout_s=3)
    n = 0
    t0 = time.monotonic()
    try:
        for f in src:
            n += 1
            if n == 20:
                rtsp["proc"].terminate()  # the camera goes away
                rtsp["proc"].wait(5)
            if status.count("camera.up") >= 2 and n >= 40:
                break
            if time.monotonic() - t0 > 60:
                break
    finally:
        src.close()
    assert status[:3] == ["camera.up", "camera.down", "camera.up"], status
    assert n >= 40 and f.image.shape == (240, 320, 3) and src.stats.reconnects == 1
