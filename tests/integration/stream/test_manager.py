"""The service-facing pieces: camera manager (CRUD, start/stop), live MJPEG view, SSE feed."""

from __future__ import annotations

import time

import pytest

from clearsight.stream.config import CameraConfigError
from clearsight.stream.manager import CameraExistsError, CameraManager, CameraNotFoundError, mjpeg_frames

from ...conftest import data_path

pytestmark = pytest.mark.integration


def test_manager_runs_a_camera_with_live_view_and_event_feed():
    clip = data_path("faces", "face_recognition_examples", "examples", "short_hamilton_clip.mp4")
    mgr = CameraManager()
    feed = mgr.broadcaster.subscribe(types=["face.*"], camera="live-cam")
    try:
        st = mgr.add({"name": "live-cam", "source": str(clip), "source_options": {"realtime": True, "loop": True}})
        assert st.name == "live-cam"
        with pytest.raises(CameraExistsError):
            mgr.add({"name": "live-cam", "source": str(clip)}, start=False)
        with pytest.raises(CameraConfigError):
            mgr.add({"name": "broken", "source": str(clip), "detect": {"every_n": -1}})
        ev = feed.get(timeout=30)
        assert ev is not None and ev.type == "face.seen" and ev.camera == "live-cam"
        parts = list(mjpeg_frames(mgr.pipeline("live-cam"), fps=20, max_frames=3))
        assert len(parts) == 3 and all(p.startswith(b"--frame\r\nContent-Type: image/jpeg") and b"\xff\xd8" in p for p in parts)
        s = mgr.status("live-cam")
        assert s.running and s.frames > 0 and s.events.get("face.seen", 0) >= 1
        mgr.stop("live-cam")
        assert not mgr.status("live-cam").running
        mgr.update({"name": "live-cam", "source": str(clip), "detect": {"every_n": 2}})
        assert mgr.config("live-cam").detect.every_n == 2
        mgr.remove("live-cam")
        with pytest.raises(CameraNotFoundError):
            mgr.status("live-cam")
    finally:
        feed.close()
        mgr.close()


def test_manager_reports_a_bad_source_instead_of_dying():
    mgr = CameraManager()
    mgr.add({"name": "nowhere", "source": "/no/such/file.mp4"})
    for _ in range(50):
        if not mgr.status("nowhere").running:
            break
        time.sleep(0.1)
    st = mgr.status("nowhere")
    assert not st.running and "not found" in (st.error or "")
    mgr.close()


def test_stopping_a_camera_that_is_down_returns_promptly():
    from ...unit.stream.mjpeg_server import free_port

    mgr = CameraManager()
    mgr.add({"name": "down", "source": f"http://127.0.0.1:{free_port()}/cam.mjpg",
             "source_options": {"reconnect": {"backoff_initial_s": 0.2, "backoff_max_s": 0.5, "timeout_s": 1}}})
    time.sleep(1.5)
    st = mgr.status("down")
    assert st.running and st.events.get("camera.down") == 1  # reported once, retrying in the background
    t0 = time.monotonic()
    mgr.stop("down")
    assert time.monotonic() - t0 < 5 and not mgr.status("down").running
    mgr.close()
