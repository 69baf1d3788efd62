"""A tiny local MJPEG-over-HTTP camera for tests: serves synthetic frames until stopped.

Stopping and starting it again on the same port is a camera dropping and returning.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_frame(i: int, w: int = 320, h: int = 240) -> bytes:
    img = np.full((h, w, 3), 40, np.uint8)
    x = 20 + (i * 7) % (w - 60)
    cv2.rectangle(img, (x, 80), (x + 40, 160), (0, 200, 255), -1)
    cv2.putText(img, str(i), (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
    ok, buf = cv2.imencode(".jpg", img)
    return buf.tobytes()


class MjpegCamera:
    def __init__(self, port: int | None = None, fps: float = 25.0) -> None:
        self.port = port or free_port()
        self.fps = fps
        self.server: ThreadingHTTPServer | None = None
        self.served = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def start(self) -> MjpegCamera:
        cam = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while cam.server is not None and not getattr(self.server, "_stopping", False):
                        jpg = test_frame(i)
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpg))
                        self.wfile.write(jpg + b"\r\n")
                        cam.served += 1
                        i += 1
                        time.sleep(1.0 / cam.fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        srv, self.server = self.server, None
        if srv is not None:
            srv._stopping = True  # type: ignore[attr-defined]
            srv.shutdown()
            srv.server_close()
            time.sleep(0.2)  # let handler threads notice and close their sockets
