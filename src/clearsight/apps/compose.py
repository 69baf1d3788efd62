"""The composition root of camera pipelines: which plug-ins exist, and pipelines built with them.

Why here: `stream` runs analysers and frame filters it cannot name (the apps are
above it), so someone above both must import the app modules that register
them. That is this module, and only this module: the CLI, the service's camera
hub and the Ray workers build pipelines through it (or load `PLUGIN_MODULES`
first), so a camera file means the same thing everywhere. An app that adds an
analyser (traffic, crowd, retail ...) registers it in its own module with
`stream.analysers.register_analyser` and adds that module here; nothing in
`stream` changes.

This module is not an app: it may import every app that provides plug-ins (the
"apps are independent" contract is about the apps themselves).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..stream import recognition
from ..stream.analysers import plugin_spec, registered_analysers, registered_filters
from ..stream.config import CameraConfig, CameraConfigError
from ..stream.pipeline import CameraPipeline, RunSummary
from . import cabin, redact, retail, watchlist

# every module that registers a plug-in; Ray workers import these by name in their own process
PLUGIN_MODULES: tuple[str, ...] = tuple(m.__name__ for m in (recognition, watchlist, redact, retail, cabin))


def check_plugins(config: CameraConfig) -> None:
    """Refuse a camera whose plug-in sections no registered plug-in provides, or whose extra
    `analysers` sections fail their plug-in's schema (the service calls this when a camera is created)."""
    for name, section in config.plugin_sections():
        spec = plugin_spec(name)
        if spec is None:
            known = ", ".join(registered_analysers() + registered_filters())
            raise CameraConfigError(f"camera {config.name!r}: no analyser or filter named {name!r}; known: {known}")
        try:
            spec.parse(section)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise CameraConfigError(f"camera {config.name!r}: invalid {name!r} settings: {exc}") from None
    names = {name for name, _ in config.plugin_sections()}
    if "retail" in names:  # face-free cameras are refused when created, not only when they start
        retail.check_face_free(config, "retail")


def build_pipeline(config: CameraConfig, **kwargs: Any) -> CameraPipeline:
    """A `CameraPipeline` with every registered plug-in available; `kwargs` as `CameraPipeline` takes them."""
    check_plugins(config)
    return CameraPipeline(config, **kwargs)


def run_camera(config: CameraConfig, *, max_frames: int | None = None, **kwargs: Any) -> RunSummary:
    """Build, run and close one camera pipeline."""
    pipe = build_pipeline(config, **kwargs)
    try:
        return pipe.run(max_frames=max_frames)
    finally:
        pipe.close()


def run_cameras_on_ray(configs: Sequence[CameraConfig], **kwargs: Any) -> list[dict[str, Any]]:
    """`stream.ray_engine.run_cameras_on_ray` with the app plug-ins loaded in every worker."""
    from ..stream.ray_engine import run_cameras_on_ray as _run

    for c in configs:
        check_plugins(c)
    return _run(configs, plugin_modules=PLUGIN_MODULES, **kwargs)


__all__ = ["PLUGIN_MODULES", "build_pipeline", "check_plugins", "run_camera", "run_cameras_on_ray"]
