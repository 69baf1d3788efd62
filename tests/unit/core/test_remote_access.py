"""The allow-list that keeps API users from turning the service into an SSRF tool."""

from __future__ import annotations

import pytest

from clearsight.io.remote import RemoteNotAllowedError, check_local_path, check_url
from clearsight.settings import AllowRule, RemoteAccess

pytestmark = pytest.mark.unit
DEFAULT = RemoteAccess()


@pytest.mark.parametrize("url", ["rtsp://192.168.1.5/stream", "rtsps://10.1.2.3:322/a", "http://172.20.0.9:8080/v.mjpg"])
def test_cameras_on_private_networks_are_allowed_by_default(url):
    check_url(url, DEFAULT.camera_sources, "source")


@pytest.mark.parametrize("url", [
    "rtsp://127.0.0.1:8554/x", "rtsp://localhost/x", "http://[::1]:8000/", "http://169.254.169.254/latest/meta-data",
    "tcp://10.0.0.1:22", "udp://10.0.0.1:53", "file:///etc/passwd", "rtsp://0.0.0.0/x", "not a url",
])
def test_loopback_link_local_and_raw_sockets_are_refused_by_default(url):
    with pytest.raises(RemoteNotAllowedError) as err:
        check_url(url, DEFAULT.camera_sources, "source")
    assert err.value.http_status == 403


def test_event_targets_refuse_this_machine_but_not_other_hosts():
    check_url("mqtt://10.0.0.2:1883", DEFAULT.event_targets, "sink")
    check_url("https://203.0.113.7/hook", DEFAULT.event_targets, "sink")
    for url in ("http://127.0.0.1:9000/", "mqtt://127.0.0.1:1883", "http://169.254.169.254/"):
        with pytest.raises(RemoteNotAllowedError):
            check_url(url, DEFAULT.event_targets, "sink")


def test_ports_and_explicit_loopback_rules():
    rule = AllowRule(schemes=["http"], networks=["127.0.0.0/8"], exclude=[], ports=[9000])
    check_url("http://127.0.0.1:9000/x", [rule], "sink")
    with pytest.raises(RemoteNotAllowedError):
        check_url("http://127.0.0.1:9001/x", [rule], "sink")


def test_local_paths_only_under_media_roots_and_the_refusal_reveals_nothing(tmp_path):
    root = tmp_path / "media"
    (root / "clips").mkdir(parents=True)
    clip = root / "clips" / "a.mp4"
    clip.write_bytes(b"x")
    assert check_local_path(clip, [root.resolve()], "source") == clip.resolve()
    assert check_local_path("clips/a.mp4", [root.resolve()], "source") == clip.resolve()
    messages = set()
    for p in (tmp_path / "secret.txt", "/etc/passwd", "/no/such/file", root / "clips" / "missing.mp4", "../../etc/passwd",
              "0" * 4096, "clips/" + "a" * 300, "clips/a\x00.mp4", "~no_such_user_here/clip.mp4"):
        with pytest.raises(RemoteNotAllowedError) as err:
            check_local_path(p, [root.resolve()], "source")
        messages.add(str(err.value))
    assert len(messages) == 1, messages  # same words whether or not the path exists
