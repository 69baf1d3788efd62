"""`--engine ray`: the same camera pipelines as Ray actors, one per camera.

Each actor builds its `CameraPipeline` from the camera's validated config (plain
data crosses the wire, never models), runs it and returns the summary. Sinks are
built inside the actor, so a webhook, MQTT or a shared PostgreSQL event store
receive events directly from whichever node runs the camera. A local cluster is
started when no address is given (or `RAY_ADDRESS` points elsewhere).

A worker is a fresh process: the analyser and filter plug-ins are loaded there
by importing `plugin_modules`, names the composition root
(`clearsight.apps.compose.PLUGIN_MODULES`) hands over; `stream` itself names no app.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ClearsightError, InputError
from .config import CameraConfig


class RayEngineError(ClearsightError):
    code = "ray_engine_error"
    exit_code = 1


def _actor_class():  # noqa: ANN202 - built lazily so importing this module does not import ray
    import ray

    @ray.remote(num_cpus=1)
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

        def run(self, max_frames: int | None = None) -> dict[str, Any]:
            try:
                return self.pipe.run(max_frames=max_frames).to_dict()
            finally:
                self.pipe.close()

        def stop(self) -> None:
            self.pipe.stop()

    return CameraActor


def run_cameras_on_ray(
    configs: Sequence[CameraConfig], *, address: str | None = None, output_paths: Sequence[str | None] | None = None,
    events_paths: Sequence[str | None] | None = None, max_frames: int | None = None, num_cpus: int | None = None,
    shutdown: bool = True, plugin_modules: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Run every camera as a Ray actor until its source ends; summaries in config order.

    `plugin_modules`: modules each worker imports first so the plug-ins the cameras use are registered.
    """
    try:
        import ray
    except ImportError as exc:
        raise InputError("the ray engine needs the `ray` package (pip install ray)") from exc
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise InputError("camera names must be unique")
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
        Actor = _actor_class()
        outs = list(output_paths or [None] * len(configs))
        evs = list(events_paths or [None] * len(configs))
        actors = [Actor.remote(c.model_dump(mode="json"), o, e, tuple(plugin_modules)) for c, o, e in zip(configs, outs, evs)]
        try:
            return ray.get([a.run.remote(max_frames) for a in actors])
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if hasattr(exc, "cause") else exc
            if isinstance(cause, ClearsightError):
                raise cause from None
            raise RayEngineError(f"a camera failed on Ray: {cause}") from None
    finally:
        if started_here and shutdown:
            ray.shutdown()


__all__ = ["RayEngineError", "run_cameras_on_ray"]
