"""Where events go: event store (SQL), JSON lines, webhook, MQTT, server-sent events.

Every sink has the same two methods (`emit`, `close`) so rules name sinks and the
router does not care what they are. Sinks that talk to the network (webhook,
MQTT) never block the video loop: they queue and deliver from a thread, retrying
with exponential back-off; if the queue fills (a receiver down for long), the
oldest undelivered events are counted as dropped rather than growing memory
without bound. The event store is always local, so nothing is lost there.
"""

from __future__ import annotations

import asyncio
import collections
import json
import queue
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from sqlalchemy import Select

from ..errors import ClearsightError, InputError
from ..types import Event
from .engine import Rule, RuleEngine
from .events import event_json, event_to_dict


class SinkError(ClearsightError):
    code = "sink_error"
    http_status = 502


class Sink(Protocol):
    name: str

    def emit(self, event: Event) -> None: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- event store
class EventStore:
    """Events in SQL (SQLite by default, any SQLAlchemy URL): the timeline the console shows.

    The `cs_events` table belongs to the events database of `clearsight.db`
    (its own SQLite file by default, high volume; on PostgreSQL it may share the
    gallery's database), migrated on open like every other table.
    """

    name = "store"

    def __init__(self, url: str | None = None, *, keep_snapshots: bool = True, snapshot_key: bytes | None = None) -> None:
        """Snapshots are pictures of people: stored AES-GCM encrypted under `snapshot_key`
        (default: the events key of the secrets dir, outside the database)."""
        from ..config import get_settings
        from ..db import connect
        from ..db.tables.events import events_table
        from ..io.secrets import SealedBlob, load_or_create_key

        settings = get_settings()
        if url is None:
            url = settings.events_database_url()
        self.url = url
        key = snapshot_key if snapshot_key is not None else load_or_create_key(settings.events_key_file())
        self._snapshots = SealedBlob(key, b"clearsight/event-snapshot")
        self.keep_snapshots = keep_snapshots
        self._engine = connect(self.url, "events")
        self.table = events_table

    def emit(self, event: Event) -> None:
        row = {
            "type": event.type, "camera": event.camera, "time": event.time,
            "track_ids": json.dumps(list(event.track_ids)), "data": json.dumps(event.data, default=str),
            "snapshot": self._snapshots.seal(event.snapshot_jpeg) if self.keep_snapshots and event.snapshot_jpeg else None,
            "offset_s": event.offset_s, "frame": event.frame,
        }
        with self._engine.begin() as conn:
            conn.execute(self.table.insert(), row)

    def _filtered(self, query: Select, *, camera: str | None, type: str | None, since: float | None,
                  until: float | None) -> Select:
        t = self.table
        if camera is not None:
            query = query.where(t.c.camera == camera)
        if type is not None:
            query = query.where(t.c.type.like(type.replace("*", "%")))
        if since is not None:
            query = query.where(t.c.time >= since)
        if until is not None:
            query = query.where(t.c.time < until)
        return query

    def query(
        self, *, camera: str | None = None, type: str | None = None, since: float | None = None,
        until: float | None = None, offset: int = 0, limit: int = 100, newest_first: bool = True,
    ) -> list[dict[str, Any]]:
        from sqlalchemy import select

        if limit < 1 or limit > 10_000 or offset < 0:
            raise InputError("limit must be 1..10000 and offset >= 0")
        t = self.table
        q = select(t.c.id, t.c.type, t.c.camera, t.c.time, t.c.offset_s, t.c.frame, t.c.track_ids, t.c.data,
                   (t.c.snapshot.is_not(None)).label("snap"))
        q = self._filtered(q, camera=camera, type=type, since=since, until=until)
        q = q.order_by(t.c.time.desc() if newest_first else t.c.time.asc(), t.c.id).offset(offset).limit(limit)
        with self._engine.connect() as conn:
            rows = conn.execute(q).all()
        return [
            {"id": r.id, "type": r.type, "camera": r.camera, "time": r.time, "offset_s": r.offset_s, "frame": r.frame,
             "track_ids": json.loads(r.track_ids),
             "data": json.loads(r.data), "has_snapshot": bool(r.snap)}
            for r in rows
        ]

    def snapshot(self, event_id: int) -> bytes | None:
        from sqlalchemy import select

        with self._engine.connect() as conn:
            blob = conn.execute(select(self.table.c.snapshot).where(self.table.c.id == event_id)).scalar()
        return None if blob is None else self._snapshots.open(blob)

    def count(
        self, *, camera: str | None = None, type: str | None = None, since: float | None = None,
        until: float | None = None,
    ) -> int:
        """How many events match (all of them: counted in SQL, not by paging)."""
        from sqlalchemy import func, select

        q = self._filtered(select(func.count()).select_from(self.table), camera=camera, type=type, since=since,
                           until=until)
        with self._engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def close(self) -> None:
        self._engine.dispose()


# --------------------------------------------------------------------------- simple sinks
class JsonlSink:
    """One JSON object per line (the CLI's `--events events.jsonl`)."""

    name = "jsonl"

    def __init__(self, path: str | Path, *, snapshot: bool = False) -> None:
        p = Path(path)
        if not p.parent.exists():
            raise InputError(f"folder for events file does not exist: {p.parent}")
        self._f = p.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self.snapshot = snapshot

    def emit(self, event: Event) -> None:
        with self._lock:
            self._f.write(event_json(event, snapshot=self.snapshot) + "\n")
            self._f.flush()

    def close(self) -> None:
        self._f.close()


class CallbackSink:
    name = "callback"

    def __init__(self, fn: Callable[[Event], None], name: str = "callback") -> None:
        self.fn = fn
        self.name = name

    def emit(self, event: Event) -> None:
        self.fn(event)

    def close(self) -> None:
        pass


class MemorySink:
    """Keeps the last `maxlen` events (the pipeline's own summary, tests, the console's live list)."""

    name = "memory"

    def __init__(self, maxlen: int = 10_000) -> None:
        self.events: collections.deque[Event] = collections.deque(maxlen=maxlen)

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- queued network sinks
class _QueuedSink:
    """Delivery thread + bounded queue + retry with exponential back-off."""

    name = "queued"

    def __init__(self, *, retries: int, backoff_s: float, backoff_max_s: float = 30.0, queue_size: int = 1000) -> None:
        self.retries = retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._q: queue.Queue[Event | None] = queue.Queue(maxsize=queue_size)
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        self.attempts = 0
        self.last_error: str | None = None
        self._pending = 0
        self._plock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sink:{self.name}", daemon=True)
        self._thread.start()

    def emit(self, event: Event) -> None:
        with self._plock:
            self._pending += 1
        try:
            self._q.put_nowait(event)
        except queue.Full:
            try:
                self._q.get_nowait()
                with self._plock:
                    self._pending -= 1
                    self.dropped += 1
            except queue.Empty:
                pass
            self._q.put_nowait(event)

    def _deliver(self, event: Event) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _loop(self) -> None:
        while True:
            event = self._q.get()
            if event is None:
                return
            delay = self.backoff_s
            for attempt in range(self.retries + 1):
                self.attempts += 1
                try:
                    self._deliver(event)
                    self.delivered += 1
                    break
                except Exception as exc:  # noqa: BLE001 - any transport error is retried
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    if attempt == self.retries or self._stop.is_set():
                        self.failed += 1
                        break
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.backoff_max_s)
            with self._plock:
                self._pending -= 1

    @property
    def pending(self) -> int:
        return self._pending

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until queued events are delivered or given up (True if nothing is pending)."""
        end = time.monotonic() + timeout
        while self._pending > 0 and time.monotonic() < end:
            time.sleep(0.02)
        return self._pending == 0

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (up to `timeout`), then stop."""
        self.flush(timeout)
        self._stop.set()
        self._q.put(None)
        self._thread.join(timeout=timeout)


class WebhookSink(_QueuedSink):
    """POST each event as JSON; 2xx is success, anything else (or no answer) is retried."""

    name = "webhook"

    def __init__(
        self, url: str, *, retries: int = 5, backoff_s: float = 0.5, timeout_s: float = 5.0,
        headers: dict[str, str] | None = None, snapshot: bool = True, name: str = "webhook",
    ) -> None:
        import httpx

        if not url.startswith(("http://", "https://")):
            raise InputError(f"webhook url must be http(s): {url!r}")
        self.name = name
        self.url = url
        self.snapshot = snapshot
        self._client = httpx.Client(timeout=timeout_s, headers={"content-type": "application/json", **(headers or {})})
        super().__init__(retries=retries, backoff_s=backoff_s)

    def _deliver(self, event: Event) -> None:
        body = event_to_dict(event, snapshot=self.snapshot)
        r = self._client.post(self.url, content=json.dumps(body, default=str))
        if r.status_code >= 300:
            raise SinkError(f"webhook answered {r.status_code}")

    def close(self, timeout: float = 10.0) -> None:
        super().close(timeout)
        self._client.close()


class MqttSink(_QueuedSink):
    """Publish each event to `<topic>/<camera>/<type>` (QoS 1), JSON without the snapshot by default."""

    name = "mqtt"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 1883, *, topic: str = "clearsight", qos: int = 1,
        username: str | None = None, password: str | None = None, snapshot: bool = False,
        retries: int = 5, backoff_s: float = 0.5, name: str = "mqtt",
    ) -> None:
        import paho.mqtt.client as mqtt

        self.name = name
        self.topic = topic.rstrip("/")
        self.qos = qos
        self.snapshot = snapshot
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"clearsight-{id(self):x}")
        if username:
            self._client.username_pw_set(username, password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        try:
            self._client.connect_async(host, port, keepalive=30)
        except OSError as exc:
            raise SinkError(f"cannot reach MQTT broker {host}:{port}: {exc}") from exc
        self._client.loop_start()
        super().__init__(retries=retries, backoff_s=backoff_s)

    def _deliver(self, event: Event) -> None:
        if not self._client.is_connected():
            raise SinkError("MQTT broker not connected")
        topic = f"{self.topic}/{_topic_safe(event.camera)}/{event.type}"
        info = self._client.publish(topic, event_json(event, snapshot=self.snapshot), qos=self.qos)
        info.wait_for_publish(timeout=5.0)
        if not info.is_published():
            raise SinkError(f"MQTT publish to {topic} not acknowledged")

    def close(self, timeout: float = 10.0) -> None:
        super().close(timeout)
        self._client.loop_stop()
        self._client.disconnect()


def _topic_safe(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in s) or "_"


# --------------------------------------------------------------------------- server-sent events
class Subscription:
    def __init__(self, broadcaster: SSEBroadcaster, maxsize: int, types: Sequence[str] | None, camera: str | None) -> None:
        self._b = broadcaster
        self.q: queue.Queue[Event] = queue.Queue(maxsize=maxsize)
        self.types = tuple(types) if types else None
        self.camera = camera
        self.dropped = 0

    def wants(self, event: Event) -> bool:
        import fnmatch

        if self.camera is not None and event.camera != self.camera:
            return False
        return self.types is None or any(fnmatch.fnmatchcase(event.type, t) for t in self.types)

    def get(self, timeout: float | None = None) -> Event | None:
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._b.unsubscribe(self)

    def __iter__(self) -> Iterator[Event]:
        while True:
            ev = self.get(timeout=1.0)
            if ev is not None:
                yield ev


class SSEBroadcaster:
    """Fan-out of events to any number of listeners (the console's live timeline).

    Thread-safe: cameras emit from their threads; each subscriber has a bounded
    queue and a slow browser only loses its own oldest events. The service mounts
    it with `StreamingResponse(b.sse(...), media_type="text/event-stream")`.
    """

    name = "sse"

    def __init__(self, maxsize: int = 256) -> None:
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()
        self.maxsize = maxsize

    def subscribe(self, types: Sequence[str] | None = None, camera: str | None = None) -> Subscription:
        sub = Subscription(self, self.maxsize, types, camera)
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def emit(self, event: Event) -> None:
        with self._lock:
            subs = list(self._subs)
        for s in subs:
            if not s.wants(event):
                continue
            try:
                s.q.put_nowait(event)
            except queue.Full:
                try:
                    s.q.get_nowait()
                    s.dropped += 1
                except queue.Empty:
                    pass
                s.q.put_nowait(event)

    async def sse(
        self, types: Sequence[str] | None = None, camera: str | None = None, *, heartbeat_s: float = 15.0,
        snapshot: bool = False,
    ) -> AsyncIterator[bytes]:
        """`text/event-stream` chunks: `event: <type>` + JSON data; a comment as heartbeat."""
        sub = self.subscribe(types, camera)
        try:
            yield b": connected\n\n"
            while True:
                ev = await asyncio.to_thread(sub.get, heartbeat_s)
                if ev is None:
                    yield b": keep-alive\n\n"
                    continue
                yield f"event: {ev.type}\ndata: {event_json(ev, snapshot=snapshot)}\n\n".encode()
        finally:
            sub.close()

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- config + router
MAX_WEBHOOK_HEADERS = 20
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}")
_RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
                               "te", "trailer", "proxy-authorization", "proxy-connection", "content-type", "expect"})


class SinkConfig(BaseModel):
    """One sink in a camera file: `{type: webhook, url: ..., name: ops-webhook}`."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["store", "jsonl", "webhook", "mqtt", "sse"] = Field(
        description="store: the events database; jsonl: a JSON-lines file; webhook: HTTP POST; mqtt: a broker; "
        "sse: the console's live feed.")
    name: str | None = Field(default=None, description="Name rules use in `actions`; default: the type. Two sinks "
                             "of one type need distinct names.")
    events: Literal["all", "none"] | list[str] | None = Field(
        default=None, description="Events it receives without a rule: all, none (alerts only) or a list of type "
        "patterns; default: all for store/jsonl/sse, none for webhook/mqtt.")
    url: str | None = Field(default=None, description="store: database URL (default: the configured events "
                            "database); webhook: the endpoint.")
    path: str | None = Field(default=None, description="jsonl: the file, relative to the camera file.")
    host: str = Field(default="127.0.0.1", description="mqtt: broker host.")
    port: int = Field(default=1883, ge=1, le=65535, description="mqtt: broker port.")
    topic: str = Field(default="clearsight", description="mqtt: topic prefix; messages go to <topic>/<camera>/<type>.")
    username: str | None = Field(default=None, description="mqtt: user name.")
    password: str | None = Field(default=None, description="mqtt: password.")
    retries: int = Field(default=5, ge=0, le=50, description="webhook/mqtt: delivery attempts after the first.")
    backoff_s: float = Field(default=0.5, gt=0, description="webhook/mqtt: first retry delay in seconds; doubles "
                             "per retry.")
    timeout_s: float = Field(default=5.0, gt=0, description="webhook: seconds to wait for an answer.")
    headers: dict[str, str] = Field(default_factory=dict, description="webhook: extra HTTP headers.")
    snapshot: bool | None = Field(default=None, description="Include the event's JPEG snapshot; default: yes for "
                                  "store and webhook, no otherwise.")

    @field_validator("headers")
    @classmethod
    def _safe_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        """Extra webhook headers may authenticate (Authorization, X-Api-Key) but never steer the
        request itself (Host, framing, hop-by-hop): a camera file must not become a request smuggler."""
        if len(headers) > MAX_WEBHOOK_HEADERS:
            raise ValueError(f"at most {MAX_WEBHOOK_HEADERS} headers")
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name) or name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"header {name!r} may not be set")
            if len(value) > 1024 or any(ch in value for ch in "\r\n\0"):
                raise ValueError(f"header {name!r}: at most 1024 characters, no line breaks")
        return headers

    @property
    def sink_name(self) -> str:
        return self.name or self.type

    def default_events(self) -> Literal["all", "none"] | list[str]:
        if self.events is not None:
            return self.events
        return "all" if self.type in ("store", "jsonl", "sse") else "none"

    def build(self, broadcaster: SSEBroadcaster | None = None) -> Sink:
        """The sink; `type: sse` publishes to `broadcaster`, the one the service mounts
        (without a service nobody listens, so a private one is harmless)."""
        if self.type == "store":
            return EventStore(self.url, keep_snapshots=self.snapshot if self.snapshot is not None else True)
        if self.type == "jsonl":
            if not self.path:
                raise InputError("a jsonl sink needs `path`")
            return JsonlSink(self.path, snapshot=bool(self.snapshot))
        if self.type == "webhook":
            if not self.url:
                raise InputError("a webhook sink needs `url`")
            return WebhookSink(self.url, retries=self.retries, backoff_s=self.backoff_s, timeout_s=self.timeout_s,
                               headers=self.headers, snapshot=self.snapshot if self.snapshot is not None else True,
                               name=self.sink_name)
        if self.type == "mqtt":
            return MqttSink(self.host, self.port, topic=self.topic, username=self.username, password=self.password,
                            snapshot=bool(self.snapshot), retries=self.retries, backoff_s=self.backoff_s,
                            name=self.sink_name)
        return broadcaster if broadcaster is not None else SSEBroadcaster()


class EventRouter:
    """Events in; rules evaluated; every sink gets what it subscribed to plus the alerts aimed at it."""

    def __init__(self, rules: Sequence[Rule] = (), sinks: Sequence[tuple[Sink, Literal["all", "none"] | list[str]]] = ()) -> None:
        self.engine = RuleEngine(rules)
        self.sinks: dict[str, tuple[Sink, Literal["all", "none"] | list[str]]] = {}
        for sink, sel in sinks:
            self.add_sink(sink, sel)
        self.errors = 0
        self.last_error: str | None = None

    def add_sink(self, sink: Sink, events: Literal["all", "none"] | list[str] = "all", name: str | None = None) -> None:
        name = name or sink.name
        if name in self.sinks:
            raise InputError(f"two sinks are named {name!r}; give them distinct `name`s")
        self.sinks[name] = (sink, events)

    @classmethod
    def from_config(cls, rules: Sequence[Rule], sinks: Sequence[SinkConfig],
                    broadcaster: SSEBroadcaster | None = None) -> EventRouter:
        router = cls(rules)
        for sc in sinks:
            router.add_sink(sc.build(broadcaster), sc.default_events(), sc.sink_name)
        names = set(router.sinks)
        for r in rules:
            unknown = [a for a in (r.actions or []) if a not in names]
            if unknown:
                raise InputError(f"rule {r.name!r} sends to unknown sink(s) {unknown}; sinks are {sorted(names)}")
        return router

    def _send(self, sink: Sink, event: Event) -> None:
        try:
            sink.emit(event)
        except Exception as exc:  # noqa: BLE001 - one broken sink must not stop the camera
            self.errors += 1
            self.last_error = f"{sink.name}: {type(exc).__name__}: {exc}"

    def emit(self, event: Event) -> list[Event]:
        import fnmatch

        for sink, sel in self.sinks.values():
            if sel == "all" or (isinstance(sel, list) and any(fnmatch.fnmatchcase(event.type, p) for p in sel)):
                self._send(sink, event)
        alerts = []
        for rule, alert in self.engine.process(event):
            alerts.append(alert)
            targets = rule.actions if rule.actions is not None else list(self.sinks)
            for name in targets:
                self._send(self.sinks[name][0], alert)
        return alerts

    def close(self) -> None:
        for sink, _ in self.sinks.values():
            try:
                sink.close()
            except Exception:  # noqa: BLE001
                pass


__all__ = [
    "CallbackSink", "EventRouter", "EventStore", "JsonlSink", "MemorySink", "MqttSink",
    "SSEBroadcaster", "Sink", "SinkConfig", "SinkError", "Subscription", "WebhookSink",
]
