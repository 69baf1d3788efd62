"""A real service on a free loopback port, for tests that need more than the in-process
test client: browsers, MJPEG/SSE streams that never end, fake cameras."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np


@contextmanager
def running_app(app: Any, start_timeout: float = 60.0) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread; yields its base URL, stops it afterwards."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def write_y4m(path: Path, frames_rgb: Sequence[np.ndarray], fps: int = 30) -> None:
    """A YUV4MPEG2 clip of RGB frames: what Chromium's fake camera reads (and loops)."""
    h, w = frames_rgb[0].shape[:2]
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames_rgb:
            fh.write(b"FRAME\n" + cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())


@contextmanager
def service_with_key(data_dir: Path, role: str, **server: Any) -> Iterator[tuple[str, str]]:
    """A fresh service (no warm-up) on `data_dir` served on loopback, and a key of `role`."""
    from clearsight.config import Settings
    from clearsight.server.app import create_app
    from clearsight.settings import ServerSettings

    settings = Settings(data_dir=data_dir, models_dir=Settings().model_dir)
    app = create_app(settings, ServerSettings(warmup=False, **server))
    _, key = app.state.clearsight.keys.create(role, f"test {role}")
    with running_app(app) as base:
        yield base, key
