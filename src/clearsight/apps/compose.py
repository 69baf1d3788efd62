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

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..rules import events as ev
from ..rules.engine import Rule, RuleError
from ..stream import recognition
from ..stream.analysers import analyser_event_types, analyser_spec, plugin_spec, registered_analysers, registered_filters
from ..stream.config import CameraConfig, CameraConfigError
from ..stream.pipeline import CameraPipeline, RunSummary
from . import cabin, crowd, redact, retail, traffic, watchlist
from .plates import analyser as plates

# every module that registers a plug-in; Ray workers import these by name in their own process
PLUGIN_MODULES: tuple[str, ...] = tuple(m.__name__ for m in (recognition, watchlist, redact, traffic, crowd, plates,
                                                             retail, cabin))


def check_plugins(config: CameraConfig) -> None:
    """Refuse a camera whose plug-in sections no registered plug-in provides, whose extra
    `analysers` sections fail their plug-in's schema, or that breaks a plug-in's camera rule
    (the service calls this when a camera is created)."""
    specs = []
    for name, section in config.plugin_sections():
        spec = plugin_spec(name)
        if spec is None:
            known = ", ".join(registered_analysers() + registered_filters())
            raise CameraConfigError(f"camera {config.name!r}: no analyser or filter named {name!r}; known: {known}")
        try:
            spec.parse(section)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise CameraConfigError(f"camera {config.name!r}: invalid {name!r} settings: {exc}") from None
        specs.append(spec)
    for spec in specs:  # rules a plug-in imposes on the whole camera (retail: face-free), once all sections parse
        if spec.check_camera is not None:
            spec.check_camera(config)


# --------------------------------------------------------------------------- event types
@dataclass(frozen=True, slots=True)
class EventType:
    """An event type someone can emit: the engine, or a registered analyser."""

    type: str
    source: str  # "engine" or the analyser's name
    meaning: str

    def to_dict(self) -> dict[str, str]:
        return {"type": self.type, "source": self.source, "meaning": self.meaning}


def known_event_types() -> dict[str, EventType]:
    """Every event type the engine or a registered analyser can emit, by name.

    Why: a rule on a type nobody emits (`vehicle.stoped`, or an analyser that is not
    installed) is accepted silently and can never fire; the rule editor refuses it
    with this list instead.
    """
    out = {t: EventType(t, "engine", meaning) for t, meaning in ev.ENGINE_EVENTS.items()}
    for etype, (analyser, meaning) in analyser_event_types().items():
        out.setdefault(etype, EventType(etype, analyser, meaning))
    return dict(sorted(out.items()))


def camera_event_types(config: CameraConfig) -> set[str]:
    """The event types one camera, as configured, can emit."""
    types = {ev.CAMERA_DOWN, ev.CAMERA_UP, ev.ALERT}
    if config.output.face_seen == "per_track":
        types |= {ev.FACE_SEEN, ev.TRACK_START, ev.TRACK_END}
    if config.zones:
        types |= {ev.ZONE_ENTER, ev.ZONE_EXIT}
        if any(z.dwell_s is not None for z in config.zones):
            types.add(ev.ZONE_DWELL)
    if config.lines:
        types.add(ev.LINE_CROSS)
    for name, _ in config.plugin_sections():
        spec = analyser_spec(name)
        if spec is not None:
            types |= set(spec.emits)
    return types


def check_rule_event_types(rules: Sequence[Rule], cameras: Sequence[CameraConfig] = ()) -> list[str]:
    """Refuse rules on event types nobody can emit; return warnings for types no configured camera emits.

    An exact type must be known; a glob (`zone.*`) must match at least one known
    type. Raises `RuleError` naming the rule and listing the known types.
    """
    known = known_event_types()
    emitted = set().union(*(camera_event_types(c) for c in cameras)) if cameras else set()
    warnings: list[str] = []
    for rule in rules:
        patterns = [rule.when.type] if isinstance(rule.when.type, str) else list(rule.when.type)
        for pat in patterns:
            hits = [t for t in known if fnmatch.fnmatchcase(t, pat)]
            if not hits:
                raise RuleError(f"rule {rule.name!r}: no analyser and no part of the engine emits event type "
                                f"{pat!r}; known types: {', '.join(known)}")
            if not any(h in emitted for h in hits):
                where = "no camera is configured" if not cameras else "no configured camera emits it"
                warnings.append(f"rule {rule.name!r}: {pat!r} exists but {where} (it fires once a camera does)")
    return warnings


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


__all__ = ["PLUGIN_MODULES", "EventType", "build_pipeline", "camera_event_types", "check_plugins",
           "check_rule_event_types", "known_event_types", "run_camera", "run_cameras_on_ray"]
