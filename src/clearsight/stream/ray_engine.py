"""`--engine ray`: the same camera pipelines as Ray actors, one per camera, moved to a
live node when the node running them dies.

Each actor builds its `CameraPipeline` from the camera's validated config (plain
data crosses the wire, never models), runs it and returns the summary. Sinks are
built inside the actor, so a webhook, MQTT or a shared PostgreSQL event store
receive events directly from whichever node runs the camera. A local cluster is
started when no address is given (or `RAY_ADDRESS` points elsewhere).

**Failover.** The driver supervises: actors are placed with Ray's SPREAD strategy
(cameras spread over the nodes), and when one is lost (its node died, its process was
killed) the driver emits `camera.down` for that camera, kills what may be left of the
old actor and starts a new one wherever the cluster has room, then emits `camera.up`
once the new actor has processed its first frame; both carry the node ids. These two
events come from the driver because a dead node can say nothing: they go to the
camera's own sinks and rules (built in the driver for this) and to its events file.
The driver, not Ray's `max_restarts`, restarts the actor, because only the driver
knows when a camera is down and when it is up again. A file camera that moves starts
its file again from the first frame (a live source simply continues live), and the
run summary is the last actor's. A camera that is lost `max_failovers` times in a row
without processing a frame in between (a crash loop, not a node death) ends the run.

A worker is a fresh process: the analyser and filter plug-ins are loaded there
by importing `plugin_modules`, names the composition root
(`clearsight.apps.compose.PLUGIN_MODULES`) hands over; `stream` itself names no app.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from ..errors import ClearsightError, InputError
from ..rules import events as ev
from ..rules.sinks import EventRouter, JsonlSink
from .config import CameraConfig


class RayEngineError(ClearsightError):
    code = "ray_engine_error"
    exit_code = 1


def _actor_class():  # noqa: ANN202 - built lazily so importing this module does not import ray
    import ray

    # run() holds one thread for the camera's life; running() and stop() are answered beside it
    @ray.remote(num_cpus=1, max_concurrency=4)
    class CameraActor:
        def __init__(self, config: dict[str, Any], output_path: str | None, events_path: str | None,
                     plugin_modules: Sequence[str] = ()) -> None:
            import importlib
            import os

            os.environ.setdefault("GLOG_minloglevel", "2")
            for module in plugin_modules:
                importlib.import_module(module)
            from ..rules.sinks import JsonlSink
            from .config import parse_camera
            from .pipeline import CameraPipeline

            cfg = parse_camera(config)
            extra = [(JsonlSink(events_path), "all")] if events_path else []
            self.pipe = CameraPipeline(cfg, extra_sinks=extra, output_path=output_path)
            self._ended = threading.Event()

        def run(self, max_frames: int | None = None) -> dict[str, Any]:
            try:
                return self.pipe.run(max_frames=max_frames).to_dict()
            finally:
                self._ended.set()
                self.pipe.close()

        def running(self, poll_s: float = 0.05) -> dict[str, Any]:
            """Returns once the camera processed its first frame (or its run ended): where it runs."""
            while self.pipe.summary.frames == 0 and not self._ended.wait(poll_s):
                pass
            ctx = ray.get_runtime_context()
            return {"node_id": ctx.get_node_id(), "node_ip": ray.util.get_node_ip_address(),
                    "frames": self.pipe.summary.frames}

        def ping(self) -> int:
            return self.pipe.summary.frames

        def stop(self) -> None:
            self.pipe.stop()

    return CameraActor


@dataclass
class _Camera:
    """The driver's record of one camera: its current actor and the run/running calls in flight."""

    config: CameraConfig
    output_path: str | None
    events_path: str | None
    actor: Any = None
    run_ref: Any = None
    running_ref: Any = None
    ping_ref: Any = None
    ping_at: float = 0.0  # monotonic time the last ping was sent
    node_id: str | None = None  # where it runs; None while starting or moving
    node_ip: str | None = None
    down_at: float | None = None  # when the driver saw it lost (until it is up again)
    lost_node: str | None = None
    failovers: int = 0
    lost_in_a_row: int = 0
    router: EventRouter | None = None
    summary: dict[str, Any] | None = field(default=None)


class RayCameraSupervisor:
    """Runs cameras as Ray actors on the connected cluster and moves lost ones (see the module doc).

    `ray.init` must have been called. `run` blocks until every camera ended (file sources
    end; live sources run until `stop`); `placements` and `stop` may be called from other threads.
    """

    def __init__(self, configs: Sequence[CameraConfig], *, output_paths: Sequence[str | None] | None = None,
                 events_paths: Sequence[str | None] | None = None, plugin_modules: Sequence[str] = (),
                 cpus_per_camera: float = 1.0, max_failovers: int = 5, heartbeat_s: float = 1.0,
                 heartbeat_timeout_s: float = 10.0, poll_s: float = 0.5) -> None:
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise InputError("camera names must be unique")
        if cpus_per_camera <= 0:
            raise InputError(f"cpus_per_camera must be positive, not {cpus_per_camera}")
        if max_failovers < 0:
            raise InputError(f"max_failovers must be 0 or more, not {max_failovers}")
        if not 0 < heartbeat_s < heartbeat_timeout_s:
            raise InputError(f"need 0 < heartbeat_s < heartbeat_timeout_s, not {heartbeat_s} and {heartbeat_timeout_s}")
        outs = list(output_paths or [None] * len(configs))
        evs = list(events_paths or [None] * len(configs))
        if len(outs) != len(configs) or len(evs) != len(configs):
            raise InputError("give one output path and one events path per camera (or none)")
        self.cameras = [_Camera(c, o, e) for c, o, e in zip(configs, outs, evs)]
        self.plugin_modules = tuple(plugin_modules)
        self.cpus_per_camera = cpus_per_camera
        self.max_failovers = max_failovers
        self.heartbeat_s, self.heartbeat_timeout_s = heartbeat_s, heartbeat_timeout_s
        self.poll_s = poll_s
        self._max_frames: int | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    # -- what other threads may ask --------------------------------------------------
    def placements(self) -> dict[str, str | None]:
        """Camera name -> id of the node whose actor is processing it (None while starting or moving)."""
        with self._lock:
            return {c.config.name: c.node_id for c in self.cameras}

    def stop(self) -> None:
        """Ask every camera to end; `run` returns their summaries."""
        self._stopping.set()
        with self._lock:
            actors = [c.actor for c in self.cameras if c.actor is not None and c.summary is None]
        for a in actors:
            a.stop.remote()

    # -- the loop ------------------------------------------------------------------------
    def run(self, max_frames: int | None = None) -> list[dict[str, Any]]:
        """Run every camera until it ends; summaries in config order, each with `failovers` and `node_id`."""
        Actor = _actor_class()
        self._max_frames = max_frames
        for cam in self.cameras:
            self._start(Actor, cam)
        try:
            while True:
                try:
                    if not self._step(Actor):
                        break
                except KeyboardInterrupt:  # the first Ctrl-C stops the cameras (summaries follow), a second one quits
                    if self._stopping.is_set():
                        raise
                    self.stop()
        except BaseException:
            self.stop()  # an error: the other cameras end too
            raise
        finally:
            for cam in self.cameras:
                if cam.router is not None:
                    cam.router.close()
        return [c.summary or {} for c in self.cameras]

    def _step(self, Actor: Any) -> bool:
        """One turn of the loop: pings, then whatever answered; False once every camera ended."""
        import ray

        self._heartbeat(Actor)
        calls = {c.run_ref: (c, "run") for c in self.cameras if c.summary is None}
        calls |= {c.running_ref: (c, "running") for c in self.cameras if c.running_ref is not None}
        calls |= {c.ping_ref: (c, "ping") for c in self.cameras if c.ping_ref is not None}
        if not any(what == "run" for _, what in calls.values()):
            return False
        ready, _ = ray.wait(list(calls), num_returns=1, timeout=self.poll_s)
        for ref in ready:
            cam, what = calls[ref]
            if what == "running":
                self._on_running(cam, ref)
            elif what == "ping":
                if ref is cam.ping_ref:
                    cam.ping_ref = None  # answered (an error: the run call reports it)
            else:
                self._on_run_end(Actor, cam, ref)
        return True

    def _heartbeat(self, Actor: Any) -> None:
        """Ping each running camera; one silent for `heartbeat_timeout_s` is lost. Ray reports a killed
        node within seconds (its sockets close), but a hung or cut-off node only after its missed
        health checks (about a minute with Ray's defaults): this bounds that wait."""
        now = time.monotonic()
        for cam in self.cameras:
            if cam.summary is not None or cam.node_id is None or self._stopping.is_set():
                continue
            if cam.ping_ref is None:
                if now - cam.ping_at >= self.heartbeat_s:
                    cam.ping_ref, cam.ping_at = cam.actor.ping.remote(), now
            elif now - cam.ping_at > self.heartbeat_timeout_s:
                self._failover(Actor, cam, TimeoutError(f"no answer to a ping in {self.heartbeat_timeout_s:g} s"))

    def _start(self, Actor: Any, cam: _Camera, avoid: str | None = None) -> None:
        import ray

        options: dict[str, Any] = {"num_cpus": self.cpus_per_camera, "scheduling_strategy": "SPREAD"}
        # the lost node is still listed alive for a few seconds (until it misses enough health checks):
        # keep the new actor off it while another node lives
        if avoid is not None and any(n["Alive"] and n["NodeID"] != avoid for n in ray.nodes()):
            options["label_selector"] = {"ray.io/node-id": f"!{avoid}"}
        actor = Actor.options(**options).remote(
            cam.config.model_dump(mode="json"), cam.output_path, cam.events_path, self.plugin_modules)
        with self._lock:
            cam.actor, cam.node_id, cam.ping_ref = actor, None, None
            cam.run_ref = actor.run.remote(self._max_frames)
            cam.running_ref = actor.running.remote()
        if self._stopping.is_set():
            actor.stop.remote()

    def _on_running(self, cam: _Camera, ref: Any) -> None:
        import ray

        if ref is not cam.running_ref:
            return  # the call went to an actor since lost and replaced
        cam.running_ref = None
        try:
            where = ray.get(ref)
        except ray.exceptions.RayError:
            return  # the run call reports why
        with self._lock:
            cam.node_id, cam.node_ip = where["node_id"], where["node_ip"]
        if cam.down_at is not None and where["frames"] > 0:
            self._emit(cam, ev.CAMERA_UP, reason="moved", node_id=cam.node_id, node_ip=cam.node_ip,
                       from_node_id=cam.lost_node, down_s=round(time.time() - cam.down_at, 3))
            cam.down_at, cam.lost_in_a_row = None, 0

    def _on_run_end(self, Actor: Any, cam: _Camera, ref: Any) -> None:
        import ray

        try:
            summary = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # the camera itself failed: no node to blame
            cause = exc.cause if hasattr(exc, "cause") else exc
            if isinstance(cause, ClearsightError):
                raise cause from None
            raise RayEngineError(f"camera {cam.config.name!r} failed on Ray: {cause}") from None
        except ray.exceptions.RayActorError as exc:  # its node or process is gone
            if exc.actor_init_failed:  # its constructor raised: the camera's fault, wherever it runs
                raise RayEngineError(f"camera {cam.config.name!r} could not start on Ray: {exc}") from None
            self._failover(Actor, cam, exc)
            return
        summary |= {"failovers": cam.failovers, "node_id": cam.node_id}
        with self._lock:
            cam.summary = summary

    def _failover(self, Actor: Any, cam: _Camera, exc: Exception) -> None:
        import ray

        lost = cam.node_id or cam.lost_node  # lost again while starting on a new node: still avoid the old one
        if cam.down_at is None:  # lost again before it came up: one camera.down is enough
            cam.down_at, cam.lost_node = time.time(), lost
            self._emit(cam, ev.CAMERA_DOWN, reason="unresponsive" if isinstance(exc, TimeoutError) else "worker lost",
                       node_id=lost, node_ip=cam.node_ip,
                       error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        cam.lost_in_a_row += 1
        if cam.lost_in_a_row > self.max_failovers:
            raise RayEngineError(f"camera {cam.config.name!r} was lost {cam.lost_in_a_row} times in a row "
                                 f"without processing a frame; last: {type(exc).__name__}: {exc}")
        # an actor that is only unreachable (a hung node, a network split) must not go on beside its
        # replacement: killed through the GCS, it ends when its node answers again or is declared dead
        with suppress(Exception):  # noqa: BLE001 - already gone is fine
            ray.kill(cam.actor, no_restart=True)
        cam.failovers += 1
        if self._stopping.is_set():
            with self._lock:
                cam.summary = {"camera": cam.config.name, "frames": 0, "error": "lost while stopping",
                               "failovers": cam.failovers, "node_id": None}
            return
        self._start(Actor, cam, avoid=lost)

    def _emit(self, cam: _Camera, etype: str, **data: Any) -> None:
        """A status event to the camera's sinks and rules, from the driver (built on first use)."""
        if cam.router is None:
            cam.router = EventRouter.from_config(cam.config.rules, cam.config.sinks)
            if cam.events_path:
                cam.router.add_sink(JsonlSink(cam.events_path), "all", "jsonl-driver")
        cam.router.emit(ev.make_event(etype, cam.config.name, time.time(), (), None, **data))


def run_cameras_on_ray(
    configs: Sequence[CameraConfig], *, address: str | None = None, output_paths: Sequence[str | None] | None = None,
    events_paths: Sequence[str | None] | None = None, max_frames: int | None = None, num_cpus: int | None = None,
    shutdown: bool = True, plugin_modules: Sequence[str] = (), **supervision: Any,
) -> list[dict[str, Any]]:
    """Run every camera as a Ray actor until its source ends; summaries in config order.

    `address`: a running cluster (`ray start --head`), else a local instance with `num_cpus`.
    `plugin_modules`: modules each worker imports first so the plug-ins the cameras use are registered.
    `supervision`: `RayCameraSupervisor`'s options (cpus_per_camera, max_failovers, heartbeat_s, ...).
    """
    try:
        import ray
    except ImportError as exc:
        raise InputError("the ray engine needs the `ray` package (pip install ray)") from exc
    supervisor = RayCameraSupervisor(configs, output_paths=output_paths, events_paths=events_paths,
                                     plugin_modules=plugin_modules, **supervision)
    started_here = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address:
            kwargs["address"] = address
        else:
            # "local" starts a fresh instance: without it Ray joins whatever cluster a stale
            # /tmp/ray/ray_current_cluster names, and then refuses num_cpus
            kwargs["address"] = "local"
            kwargs["num_cpus"] = num_cpus or max(2, len(configs))
        try:
            ray.init(**kwargs)
        except Exception as exc:  # noqa: BLE001 - ray raises many kinds
            raise RayEngineError(f"cannot start or reach the Ray cluster: {exc}") from exc
        started_here = True
    try:
        return supervisor.run(max_frames=max_frames)
    finally:
        if started_here and shutdown:
            ray.shutdown()


__all__ = ["RayCameraSupervisor", "RayEngineError", "run_cameras_on_ray"]
