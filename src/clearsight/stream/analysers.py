"""Analysers and frame filters as plug-ins: what the per-camera pipeline runs besides detect/track/zones.

Why a registry: the stream engine is below the apps (watchlist, redaction and the
coming traffic, crowd and retail analysers), so it cannot name them. Each app
registers its analyser (or frame filter) here under the name of its section in
the camera file, with the pydantic model of that section; the composition root
(`clearsight.apps.compose`) imports the app modules that register, and the
pipeline builds whatever the camera file asks for from this table.

The contract is deliberately narrow and the same for every analyser:

- per processed frame (frames where detection ran) it gets a `FrameView`:
  the frame, the current tracks, the raw detections and the time;
- it returns an `AnalyserOutput`: events for the rules/sinks, and per-track
  labels and overlays for the annotator (it never draws itself);
- when a track ends it may emit closing events (`end_track`).

A `FrameFilter` (redaction) changes the pixels of the output frame and runs on
every frame; it sees the same `FrameView` (with `detected=False` on frames where
detection did not run, so its tracks are the last known ones).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar, runtime_checkable

import numpy as np
from pydantic import BaseModel

from ..errors import InputError
from ..io.video import Frame
from ..types import BBox, Event
from .detectors import Observation
from .tracking import Tracked

if TYPE_CHECKING:
    from ..gallery import Gallery
    from .config import CameraConfig
    from .recognition import Identifier

Colour = tuple[int, int, int]


# --------------------------------------------------------------------------- per-frame data
@dataclass(frozen=True, slots=True)
class FrameView:
    """Everything one analyser or filter may look at for one frame."""

    camera: str
    frame: Frame
    tracks: tuple[Tracked, ...]
    detections: tuple[Observation, ...]
    detected: bool  # detection ran on this frame; otherwise `tracks` are the last known ones

    @property
    def time(self) -> float:
        return self.frame.time


@dataclass(frozen=True, slots=True)
class BoxOverlay:
    """A box with a caption (e.g. a vehicle with its speed, a queue's head)."""

    box: BBox
    text: str = ""
    colour: Colour = (255, 255, 255)


@dataclass(frozen=True, slots=True)
class PolygonOverlay:
    """A region or path (e.g. a lane, a crowd's hull, a trajectory when `closed=False`)."""

    points: tuple[tuple[float, float], ...]
    text: str = ""
    colour: Colour = (255, 255, 255)
    closed: bool = True


@dataclass(frozen=True, slots=True)
class TextOverlay:
    """A line of text at a pixel position (e.g. a counter in a corner)."""

    position: tuple[float, float]
    text: str
    colour: Colour = (255, 255, 255)


Overlay = BoxOverlay | PolygonOverlay | TextOverlay


@dataclass(frozen=True, slots=True)
class AnalyserOutput:
    """One analyser's answer for one frame.

    `labels` maps track id -> a short text the annotator appends to the track's
    box label; an analyser returns the current label of every track it has one for
    (a recognition decision stays on its track's box until the track ends).
    """

    events: tuple[Event, ...] = ()
    labels: Mapping[int, str] = field(default_factory=dict)
    overlays: tuple[Overlay, ...] = ()


EMPTY_OUTPUT = AnalyserOutput()


# --------------------------------------------------------------------------- protocols
@runtime_checkable
class Analyser(Protocol):
    """A per-camera analysis (recognition, watchlist, traffic counts ...)."""

    name: str

    def analyse(self, view: FrameView) -> AnalyserOutput: ...

    def end_track(self, track_id: int, t: float) -> Sequence[Event]: ...

    def close(self) -> None: ...


@runtime_checkable
class FrameFilter(Protocol):
    """Changes the output pixels (redaction); never emits events."""

    name: str

    def apply(self, view: FrameView, image: np.ndarray) -> np.ndarray: ...

    def stats(self) -> Mapping[str, int]: ...


# --------------------------------------------------------------------------- what factories get
@dataclass(frozen=True, slots=True)
class PluginContext:
    """What a plug-in factory may use to build itself for one camera.

    `config` is the whole camera (an analyser may need its zones or lines);
    `gallery` opens the gallery lazily (only plug-ins that need it pay for it);
    `identifiers` lets a caller (tests, benchmarks, offline tools) replace the
    gallery search of a named plug-in with another `Identifier`.
    """

    config: CameraConfig
    gallery: Callable[[], Gallery]
    identifiers: Mapping[str, Identifier] = field(default_factory=dict)
    fps: float = 25.0

    @property
    def camera(self) -> str:
        return self.config.name

    @property
    def snapshots(self) -> bool:
        return self.config.output.snapshots

    def identifier(self, plugin: str) -> Identifier | None:
        return self.identifiers.get(plugin)


C = TypeVar("C", bound=BaseModel)
P = TypeVar("P")
PluginKind = Literal["analyser", "filter"]


@dataclass(frozen=True, slots=True)
class PluginSpec(Generic[C, P]):
    """One registered plug-in: its camera-file section, schema and factory."""

    name: str
    kind: PluginKind
    config_model: type[C]
    factory: Callable[[C, PluginContext], P]
    description: str = ""
    emits: Mapping[str, str] = field(default_factory=dict)  # event type -> what it means (docs, rule editor)
    # a rule on the whole camera the plug-in imposes (e.g. retail: face-free), checked when a camera is created
    check_camera: Callable[[CameraConfig], None] | None = None

    def parse(self, section: object) -> C:
        return section if isinstance(section, self.config_model) else self.config_model.model_validate(section)


_ANALYSERS: dict[str, PluginSpec[BaseModel, Analyser]] = {}
_FILTERS: dict[str, PluginSpec[BaseModel, FrameFilter]] = {}


def register_analyser(name: str, factory: Callable[[C, PluginContext], Analyser], config_model: type[C], *,
                      description: str = "", emits: Mapping[str, str] | None = None,
                      check_camera: Callable[[CameraConfig], None] | None = None) -> None:
    """Make `name` (a section of the camera file) build `factory(section, context)`.

    `emits` names every event type the analyser can emit, with one line on what it
    means: the rule editor and `PUT /v1/rules` accept only types someone can emit.
    `check_camera(config)` raises when the rest of the camera breaks a rule of the
    plug-in (retail refuses recognition); it runs when a camera is created.
    Registering a name again replaces it (an app module imported twice, a test
    double); a name cannot be both an analyser and a filter.
    """
    if name in _FILTERS:
        raise InputError(f"{name!r} is already registered as a frame filter")
    _ANALYSERS[name] = PluginSpec(name, "analyser", config_model, factory, description,  # type: ignore[arg-type]
                                  dict(emits or {}), check_camera)


def register_filter(name: str, factory: Callable[[C, PluginContext], FrameFilter], config_model: type[C], *,
                    description: str = "") -> None:
    if name in _ANALYSERS:
        raise InputError(f"{name!r} is already registered as an analyser")
    _FILTERS[name] = PluginSpec(name, "filter", config_model, factory, description)  # type: ignore[arg-type]


def analyser_spec(name: str) -> PluginSpec[BaseModel, Analyser] | None:
    return _ANALYSERS.get(name)


def filter_spec(name: str) -> PluginSpec[BaseModel, FrameFilter] | None:
    return _FILTERS.get(name)


def analyser_event_types() -> dict[str, tuple[str, str]]:
    """Every event type a registered analyser can emit: type -> (analyser, meaning)."""
    out: dict[str, tuple[str, str]] = {}
    for spec in _ANALYSERS.values():
        for etype, meaning in spec.emits.items():
            out.setdefault(etype, (spec.name, meaning))
    return out


def registered_analysers() -> list[str]:
    return sorted(_ANALYSERS)


def registered_filters() -> list[str]:
    return sorted(_FILTERS)


def plugin_spec(name: str) -> PluginSpec[BaseModel, Analyser] | PluginSpec[BaseModel, FrameFilter] | None:
    return _ANALYSERS.get(name) or _FILTERS.get(name)


__all__ = [
    "EMPTY_OUTPUT", "Analyser", "AnalyserOutput", "BoxOverlay", "FrameFilter", "FrameView", "Overlay", "PluginContext",
    "PluginSpec", "PolygonOverlay", "TextOverlay", "analyser_event_types", "analyser_spec", "filter_spec", "plugin_spec", "register_analyser",
    "register_filter", "registered_analysers", "registered_filters",
]
