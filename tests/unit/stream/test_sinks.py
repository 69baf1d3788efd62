"""Sinks: SQL event store, JSON lines, webhook with retry/back-off, SSE fan-out, MQTT (service)."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clearsight.rules import EventStore, JsonlSink, SSEBroadcaster, WebhookSink, make_event
from clearsight.rules.sinks import MqttSink, SinkConfig

from .mjpeg_server import free_port

pytestmark = pytest.mark.unit


def ev(type_="face.seen", t=100.0, cam="cam", tid=1, **data):
    return make_event(type_, cam, t, (tid,), b"\xff\xd8jpeg", **data)


def test_event_store_query_filters_and_snapshots(tmp_path):
    store = EventStore(f"sqlite:///{tmp_path / 'events.db'}")
    for i in range(5):
        store.emit(ev("zone.enter" if i % 2 else "face.seen", 100.0 + i, cam="a" if i < 3 else "b", zone="door"))
    assert [r["time"] for r in store.query()] == [104.0, 103.0, 102.0, 101.0, 100.0]
    assert [r["time"] for r in store.query(camera="a", type="zone.*")] == [101.0]
    assert [r["time"] for r in store.query(since=101, until=103, newest_first=False)] == [101.0, 102.0]
    row = store.query(limit=1)[0]
    assert row["data"] == {"zone": "door"} and row["has_snapshot"] and store.snapshot(row["id"]) == b"\xff\xd8jpeg"
    store.close()
    # a second process (or the service) sees the same timeline
    assert EventStore(f"sqlite:///{tmp_path / 'events.db'}").count() == 5


def test_event_store_default_url_is_in_the_data_dir(_isolated_data_dir):
    store = EventStore()
    store.emit(ev())
    assert (_isolated_data_dir / "events.db").is_file()


def test_jsonl_sink(tmp_path):
    p = tmp_path / "e.jsonl"
    s = JsonlSink(p)
    s.emit(ev(score=0.5))
    s.emit(ev("zone.exit", duration_s=2.0))
    s.close()
    lines = [json.loads(x) for x in p.read_text().splitlines()]
    assert [x["type"] for x in lines] == ["face.seen", "zone.exit"] and lines[1]["data"]["duration_s"] == 2.0


class _Hook:
    """A webhook receiver that answers 503 to the first `fail` requests."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.received: list[dict] = []
        self.attempts = 0
        hook = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.attempts += 1
                if hook.attempts <= hook.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                hook.received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_webhook_retries_with_backoff_then_delivers():
    hook = _Hook(fail=2)
    sink = WebhookSink(hook.url, retries=4, backoff_s=0.05)
    t0 = time.monotonic()
    sink.emit(ev(similarity=0.9))
    assert sink.flush(10)
    assert time.monotonic() - t0 >= 0.05 + 0.1  # waited between attempts (0.05, then 0.1)
    assert hook.attempts == 3 and len(hook.received) == 1 and sink.delivered == 1 and sink.failed == 0
    body = hook.received[0]
    assert body["type"] == "face.seen" and body["data"]["similarity"] == 0.9 and body["snapshot_jpeg_b64"]
    sink.close()
    hook.close()


def test_webhook_gives_up_after_retries_without_blocking_the_caller():
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    sink = WebhookSink(url, retries=1, backoff_s=0.01, timeout_s=0.5)
    t0 = time.monotonic()
    for i in range(3):
        sink.emit(ev(t=i))
    assert time.monotonic() - t0 < 0.2  # emit only queues
    assert sink.flush(10)
    assert sink.failed == 3 and sink.delivered == 0 and "Connect" in (sink.last_error or "")
    sink.close()


def test_sse_fan_out_filters_and_bounded_queues():
    b = SSEBroadcaster(maxsize=2)
    all_ = b.subscribe()
    zones = b.subscribe(types=["zone.*"], camera="a")
    b.emit(ev("zone.enter", cam="a"))
    b.emit(ev("face.seen", cam="a"))
    b.emit(ev("zone.exit", cam="b"))
    assert zones.get(0.1).type == "zone.enter" and zones.get(0.01) is None
    # all_ kept only the newest two of three
    assert [all_.get(0.1).type, all_.get(0.1).type] == ["face.seen", "zone.exit"] and all_.dropped == 1
    zones.close()
    assert b.subscribers == 1

    async def first_chunks():
        gen = b.sse(types=["line.cross"])
        hello = await gen.__anext__()
        threading.Timer(0.1, lambda: b.emit(ev("line.cross", zone="gate"))).start()
        msg = await asyncio.wait_for(gen.__anext__(), 5)
        await gen.aclose()
        return hello, msg

    hello, msg = asyncio.run(first_chunks())
    assert hello.startswith(b":")
    head, data = msg.decode().split("\n")[:2]
    assert head == "event: line.cross" and json.loads(data.removeprefix("data: "))["data"]["zone"] == "gate"


def test_sink_config_builds_and_validates(tmp_path):
    from clearsight.errors import InputError

    s = SinkConfig(type="jsonl", path=str(tmp_path / "x.jsonl")).build()
    assert isinstance(s, JsonlSink)
    s.close()
    with pytest.raises(InputError, match="needs `url`"):
        SinkConfig(type="webhook").build()
    with pytest.raises(InputError, match="http"):
        SinkConfig(type="webhook", url="ftp://x").build()


@pytest.fixture
def mqtt_broker():
    """The local Mosquitto if one listens on 1883, else one started on a free port."""
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 1883)) == 0:
            yield 1883
            return
    exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if shutil.os.path.exists("/usr/sbin/mosquitto") else None)
    if exe is None:
        pytest.skip("no MQTT broker: install Debian's mosquitto")
    port = free_port()
    proc = subprocess.Popen([exe, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.skip("mosquitto did not start")
    yield port
    proc.terminate()
    proc.wait(5)


@pytest.mark.services
def test_mqtt_sink_publishes_json_per_camera_and_type(mqtt_broker):
    import paho.mqtt.client as mqtt

    got: list[tuple[str, dict]] = []
    ready = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_connect = lambda c, u, f, rc, p=None: (c.subscribe("cstest/#", qos=1), ready.set())
    sub.on_message = lambda c, u, m: got.append((m.topic, json.loads(m.payload)))
    sub.connect("127.0.0.1", mqtt_broker)
    sub.loop_start()
    assert ready.wait(5)
    time.sleep(0.2)
    sink = MqttSink("127.0.0.1", mqtt_broker, topic="cstest", backoff_s=0.1)
    sink.emit(ev("watchlist.match", cam="lobby 1", similarity=0.97))
    assert sink.flush(10) and sink.delivered == 1
    for _ in range(50):
        if got:
            break
        time.sleep(0.1)
    sink.close()
    sub.loop_stop()
    sub.disconnect()
    assert got and got[0][0] == "cstest/lobby_1/watchlist.match" and got[0][1]["data"]["similarity"] == 0.97


def test_event_snapshots_are_encrypted_at_rest(tmp_path):
    """Issue 19 item 3: snapshots are pictures of people; the events database alone does not show them."""
    import sqlite3

    from clearsight.config import get_settings

    jpeg = b"\xff\xd8\xff\xe0" + b"a face" * 100 + b"\xff\xd9"
    url = f"sqlite:///{tmp_path / 'events.db'}"
    store = EventStore(url)
    store.emit(make_event("face.seen", "door", 1.0, snapshot=jpeg))
    event_id = store.query()[0]["id"]
    assert store.snapshot(event_id) == jpeg
    store.close()
    raw = sqlite3.connect(tmp_path / "events.db").execute("SELECT snapshot FROM cs_events").fetchone()[0]
    assert b"a face" not in raw and not raw.startswith(b"\xff\xd8")
    key_file = get_settings().events_key_file()
    assert key_file.exists() and (key_file.stat().st_mode & 0o077) == 0
    assert tmp_path not in key_file.parents


@pytest.mark.parametrize("headers", [{"Host": "internal"}, {"Transfer-Encoding": "chunked"}, {"X-A": "1\r\nHost: x"},
                                     {f"X-{i}": "v" for i in range(30)}])
def test_webhook_headers_cannot_steer_the_request(headers):
    with pytest.raises(ValueError):
        SinkConfig(type="webhook", url="https://203.0.113.5/hook", headers=headers)
    assert SinkConfig(type="webhook", url="https://203.0.113.5/hook", headers={"Authorization": "Bearer t"}).headers
