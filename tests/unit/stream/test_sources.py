"""Video sources and writer on generated video: timestamps, pacing, drop policy, reconnect."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from clearsight.io.video import (FileSource, FrameQueue, ImageFolderSource, LiveSource, SourceUnavailableError,
                                 VideoSourceError, open_source)
from clearsight.io.writer import VideoWriter

from .mjpeg_server import MjpegCamera, free_port

pytestmark = pytest.mark.unit


def _moving_square(i: int, w: int = 160, h: int = 120) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[40:80, 5 + i * 3: 45 + i * 3] = (255, 128, 0)
    return img


@pytest.fixture
def clip(tmp_path):
    p = tmp_path / "clip.mp4"
    with VideoWriter(p, fps=20) as w:
        for i in range(30):
            w.write(_moving_square(i))
    return p


def test_writer_then_file_source_roundtrip(clip):
    src = open_source(clip)
    assert isinstance(src, FileSource) and src.fps == pytest.approx(20.0)
    frames = list(src)
    assert len(frames) == 30
    assert [f.index for f in frames] == list(range(30))
    # timestamps come from the container: 1/20 s apart, starting at 0
    assert frames[0].pts == pytest.approx(0.0, abs=1e-6)
    assert np.diff([f.pts for f in frames]) == pytest.approx(np.full(29, 0.05), abs=1e-3)
    assert frames[5].time - frames[0].time == pytest.approx(0.25, abs=1e-3)
    # the square moved 3 px per frame: decoded pixels follow what was written
    col = lambda f: int(np.argmax(f.image[60, :, 0] > 128))  # noqa: E731
    assert col(frames[10]) - col(frames[0]) == pytest.approx(30, abs=2)


def test_writer_pads_odd_sizes_and_rejects_bad_frames(tmp_path):
    with VideoWriter(tmp_path / "odd.mp4", fps=10) as w:
        w.write(np.zeros((51, 77, 3), np.uint8))
        from clearsight.errors import InputError

        with pytest.raises(InputError):
            w.write(np.zeros((51, 77), np.uint8))
    f = next(iter(open_source(tmp_path / "odd.mp4")))
    assert f.image.shape == (52, 78, 3)


def test_realtime_pacing_drops_frames_for_a_slow_consumer(clip):
    src = FileSource(clip, realtime=True, drop="latest")
    t0 = time.monotonic()
    got = []
    for f in src:
        got.append(f.index)
        time.sleep(0.12)  # a consumer slower than the 20 fps source
    elapsed = time.monotonic() - t0
    assert src.stats.dropped > 0 and src.stats.dropped + len(got) == 30
    assert got == sorted(got)
    # it kept pace with the clock (1.5 s of video) instead of taking 30 * 0.12 = 3.6 s
    assert elapsed < 3.0


def test_drop_none_delivers_every_frame(clip):
    src = FileSource(clip, realtime=True, drop="none")
    got = [f.index for f in src]
    assert got == list(range(30)) and src.stats.dropped == 0


def test_image_folder_in_natural_order(tmp_path):
    from clearsight.io import save_image

    for i in (1, 2, 10):
        save_image(_moving_square(i), tmp_path / f"f{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    src = open_source(tmp_path, fps=5)
    assert isinstance(src, ImageFolderSource)
    frames = list(src)
    assert [f.pts for f in frames] == pytest.approx([0.0, 0.2, 0.4])
    assert int(np.argmax(frames[2].image[60, :, 0] > 128)) == 35  # f10 came last, not second


def test_image_folder_loops_when_asked(tmp_path):
    """issue 19 item 10: `source_options.loop: true` was ignored for image folders (3 frames, then the end)."""
    import itertools

    from clearsight.io import save_image
    from clearsight.stream.config import parse_camera
    from clearsight.stream.pipeline import CameraPipeline

    for i in (1, 2, 3):
        save_image(_moving_square(i), tmp_path / f"f{i}.png")
    src = open_source(tmp_path, fps=5, loop=True)
    frames = list(itertools.islice(src, 7))
    assert [f.index for f in frames] == list(range(7))
    assert [f.pts for f in frames] == pytest.approx([i / 5 for i in range(7)])  # time keeps going forward
    col = lambda f: int(np.argmax(f.image[60, :, 0] > 128))  # noqa: E731
    assert [col(f) for f in frames] == [col(f) for f in frames[:3]] * 2 + [col(frames[0])]
    assert len(list(open_source(tmp_path, fps=5))) == 3  # without loop: one pass

    cfg = parse_camera({"name": "loop", "source": str(tmp_path), "source_options": {"loop": True, "fps": 5},
                        "output": {"face_seen": "off"}})
    summary = CameraPipeline(cfg, detector=_NoDetector()).run(max_frames=8)
    assert summary.frames == 8


class _NoDetector:
    name = "none"
    label = "face"

    def detect(self, rgb):
        return []


def test_frame_queue_drops_the_oldest_or_waits():
    q: FrameQueue[int] = FrameQueue(2, "latest")
    for i in range(5):
        assert q.put(i)
    assert q.dropped == 3 and [q.get(0), q.get(0), q.get(0.05)] == [3, 4, None]

    q = FrameQueue(1, "none")
    q.put(0)
    got: list[int | None] = []
    t = threading.Thread(target=lambda: got.append(q.put(1)))
    t.start()
    t.join(0.3)
    assert t.is_alive()  # the producer waits for room instead of dropping
    assert q.get() == 0
    t.join(2)
    assert got == [True] and q.get() == 1 and q.dropped == 0

    q.put(7)
    q.close()
    assert q.get() == 7 and q.get() is None and q.put(8) is False  # drains, then reports the end


@pytest.mark.parametrize("bad", ["/no/such/video.mp4", "webcam:notanumber"])
def test_missing_sources_raise_typed_errors(bad):
    with pytest.raises(VideoSourceError):
        open_source(bad)


def test_not_a_video_file(tmp_path):
    p = tmp_path / "x.mp4"
    p.write_bytes(b"this is not a video at all" * 10)
    with pytest.raises(VideoSourceError):
        FileSource(p)


def test_live_source_unreachable_raises_after_attempts():
    src = LiveSource(f"http://127.0.0.1:{free_port()}/x.mjpg", max_attempts=2, backoff_initial=0.05, timeout_s=1)
    with pytest.raises(SourceUnavailableError):
        list(src)
    src.close()


def test_stream_drop_and_return_reports_down_up_and_keeps_going():
    cam = MjpegCamera().start()
    status: list[str] = []
    restarted = threading.Event()

    def on_status(kind: str, info: dict) -> None:
        status.append(kind)
        if kind == "camera.down" and not restarted.is_set():
            restarted.set()
            threading.Timer(0.5, cam.start).start()  # the camera comes back after a while

    src = open_source(cam.url, on_status=on_status, backoff_initial=0.1, backoff_max=0.4, timeout_s=2)
    n = 0
    try:
        for f in src:
            n += 1
            if n == 15:
                cam.stop()
            if restarted.is_set() and "camera.up" in status[1:] and n >= 40:
                break
            if n > 400:
                break
    finally:
        src.close()
        cam.stop()
    assert status[0] == "camera.up" and "camera.down" in status
    assert status[status.index("camera.down") + 1:].count("camera.up") >= 1
    assert src.stats.reconnects >= 1 and n >= 40
    assert f.image.shape == (240, 320, 3)
