"""A camera described in YAML, validated up front with messages that name the field.

Example (see `examples/cameras/`)::

    name: lobby
    source: rtsp://10.0.0.5/stream1      # file, folder of images, http(s)/rtsp URL, webcam:0
    source_options: {realtime: true, drop: latest}
    detect: {detector: mediapipe, every_n: 2}
    track: {lost_s: 1.0}
    watchlist: {group: banned, operating_point: strict}   # analyser plug-ins by section name
    redact: {mode: blur}                                    # a frame-filter plug-in
    zones:
      - {name: door, polygon: [[0.7, 0.2], [1.0, 0.2], [1.0, 1.0], [0.7, 1.0]], normalized: true, dwell_s: 20}
    lines:
      - {name: entrance, points: [[0.5, 0], [0.5, 1]], normalized: true}
    rules:
      - {name: loitering, when: {type: zone.dwell, zone: door}, cooldown_s: 60, actions: [store]}
    sinks:
      - {type: store}
      - {type: webhook, url: "http://127.0.0.1:9000/hook"}

Relative paths in `source` and sink paths are resolved against the YAML file's folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import InputError
from ..rules.engine import Rule, format_validation_error
from ..rules.sinks import SinkConfig
from .detectors import validate_detector_options


class CameraConfigError(InputError):
    """The camera file is missing, not YAML, or fails validation (the message names the field)."""

    code = "invalid_camera_config"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReconnectConfig(_Strict):
    """How a live source that drops is reconnected (files never reconnect)."""

    max_attempts: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Failed connection attempts in a row before the camera gives up; "
        "null keeps trying for ever.")
    backoff_initial_s: float = Field(default=0.5, gt=0, description="Seconds before the first retry; doubles per retry.")
    backoff_max_s: float = Field(default=10.0, gt=0, description="Longest wait between retries, in seconds.")
    timeout_s: float = Field(default=5.0, gt=0, description="Seconds to wait for a connection or a frame before "
                             "counting the attempt as failed.")


class SourceOptions(_Strict):
    """How frames are read from the source."""

    realtime: bool | None = Field(
        default=None, description="Files only: pace frames by their timestamps like a camera (live sources always "
        "are). Null means false for files.")
    drop: Literal["latest", "none"] = Field(
        default="latest", description="`latest`: skip frames the pipeline is too slow for (never fall behind); "
        "`none`: process every frame in order.")
    fps: float | None = Field(default=None, gt=0, description="Image folders only: frames per second to play at "
                              "(default 10).")
    loop: bool = Field(default=False, description="Files and image folders: start again at the end, for ever.")
    backend: Literal["auto", "pyav", "opencv"] = Field(
        default="auto", description="Decoder: `auto` tries PyAV (FFmpeg) first and falls back to OpenCV.")
    reconnect: ReconnectConfig = Field(default=ReconnectConfig(), description="Reconnection of live sources.")
    max_frames: int | None = Field(default=None, ge=1, le=2**40, description="Stop after this many processed frames "
                                   "(null: until the source ends).")


class DetectConfig(_Strict):
    """The detection stage: which detector, how often, on what size."""

    detector: str = Field(
        default="mediapipe", description="Detector by registry name: a face detector (mediapipe, centerface, "
        "dlib-hog), a person detector (opencv-hog-people) or a COCO object detector for people and vehicles "
        "(centernet, nanodet; options: classes, tiles).")
    every_n: int = Field(default=1, ge=1, le=100, description="Detect on every n-th processed frame; tracks carry "
                         "over in between.")
    min_score: float = Field(default=0.5, ge=0, le=1, description="Detections scored below this are dropped.")
    max_side: int | None = Field(default=None, ge=64, le=16_384, description="Downscale frames so their longest side is at most "
                                 "this many pixels before detection (boxes are scaled back).")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Detector-specific options, validated against the chosen detector's own "
        "schema (e.g. centerface: {max_side: 960}).")

    @model_validator(mode="after")
    def _options_fit_the_detector(self) -> DetectConfig:
        self.options = validate_detector_options(self.detector, self.options)
        return self


class TrackConfig(_Strict):
    """Multi-object tracking (ByteTrack): one id per person, vehicle or face across frames.

    The defaults were kept after cross-validation (bench/traffic.py): on TUD-Campus with
    the MOTChallenge public detections the two-fold CV set (activation 0.3, high 0.2,
    min_iou 0.3) beats SORT on both halves (MOTA 0.468/0.669 vs 0.437/0.633, whole 0.571
    vs 0.552; these defaults 0.474), but on our own detector's scores it is worse
    (centernet on TUD-Campus: 0.248 vs 0.599): the score thresholds belong to the
    detector's score range. Set `activation_threshold`/`high_conf_threshold` near the
    detector's `min_score` when it is low (small vehicles score 0.15-0.5).
    """

    enabled: bool = Field(default=True, description="False: every detection is its own one-frame track.")
    lost_s: float = Field(default=1.0, gt=0, description="A track unseen for this many seconds has ended.")
    activation_threshold: float = Field(default=0.5, ge=0, le=1, description="Least detection score that starts a "
                                        "new track.")
    high_conf_threshold: float = Field(default=0.6, ge=0, le=1, description="Detections at or above this score are "
                                       "matched first (ByteTrack's high-confidence pass).")
    min_iou: float = Field(default=0.1, ge=0, le=1, description="Least box overlap for a detection to continue a "
                           "track.")
    min_frames: int = Field(default=1, ge=1, le=100_000, description="Frames a track must be seen before it is reported.")
    class_aware: bool = Field(default=True, description="Associate detections only with tracks of their class group "
                              "(people, two-wheelers, cars/buses/trucks); each track's class is the majority vote "
                              "over its frames.")


class RecognizeConfig(_Strict):
    """Per-track identification: best-quality samples, one decision by vote."""

    samples: int = Field(default=3, ge=1, le=20, description="Decide once this many good-quality face samples of "
                         "a track exist (or when the track ends).")
    min_quality: float = Field(default=0.35, ge=0, le=1, description="Face samples below this quality score are "
                               "not used.")
    operating_point: str = Field(default="balanced", description="Similarity threshold by name: strict | balanced "
                                 "| lenient (false-match rates 1e-4 | 1e-3 | 1e-2).")
    min_votes: int | None = Field(default=None, ge=1, le=10_000, description="Samples that must agree on one identity; null: a "
                                  "majority of the samples.")
    embedder: str | None = Field(default=None, description="Face embedder by registry name; null: the gallery's "
                                 "own (templates of another model would not compare).")
    sample_every_n: int = Field(default=1, ge=1, le=10_000, description="Consider every n-th detection of a track as a sample.")


class WatchlistConfig(RecognizeConfig):
    """Alert when a tracked face is an identity on a watchlist (one alert per track)."""

    enabled: bool = Field(default=True, description="False keeps the section but runs no watchlist.")
    group: str | None = Field(default=None, description="Only identities in this gallery group can alert; null: "
                              "every identity with a valid watchlist consent.")
    purpose: Literal["watchlist"] = Field(default="watchlist", description="The consent purpose searched (always "
                                          "`watchlist`).")


class RedactConfig(_Strict):
    """Blur every face in the output, except people who consented to appear."""

    enabled: bool = Field(default=True, description="False keeps the section but redacts nothing.")
    mode: Literal["blur", "pixelate", "fill"] = Field(default="blur", description="How a face is made "
                                                      "unrecognisable.")
    keep_consented: bool = Field(default=False, description="Leave visible the tracks identified as people with a "
                                 "valid consent for `consent_purpose` (needs the gallery); false redacts everyone.")
    consent_purpose: str = Field(default="photos", description="The consent purpose that means 'may appear'.")
    operating_point: str | None = Field(
        default=None, description="Similarity threshold that keeps a consented person visible; null: the gallery's "
        "configured operating point (`face.operating_point`), the decision the rest of the platform uses.")
    margin: float = Field(default=0.25, ge=0, le=2, description="Grow each face box by this fraction before "
                          "redacting.")
    detector: str = Field(default="centerface", description="Face detector run on every frame for redaction.")
    min_score: float = Field(default=0.3, ge=0.05, le=1, description="Detection threshold; low on purpose (a false "
                             "positive blurs a patch of wall, a miss exposes a person).")
    hold_frames: int = Field(default=3, ge=1, le=50, description="Keep redacting a face's last boxes this many frames "
                             "after the detector lost it.")


class ZoneConfig(_Strict):
    """A polygon: enter, exit and dwell events for tracks inside it."""

    name: str = Field(min_length=1, max_length=100, description="Unique among the camera's zones and lines; events "
                      "carry it as `zone`.")
    polygon: list[tuple[float, float]] = Field(min_length=3, description="Corners as [x, y] pairs, in pixels or "
                                               "normalised 0..1 (see `normalized`).")
    normalized: bool = Field(default=False, description="Coordinates are fractions of the frame width and height.")
    dwell_s: float | None = Field(default=None, gt=0, description="Emit `zone.dwell` once per stay after this many "
                                  "seconds; null: no dwell events.")
    anchor: Literal["center", "bottom"] | None = Field(
        default=None, description="Which point of a box must be inside: its center or its bottom (feet); null: "
        "center for faces, bottom for people.")


class LineConfig(_Strict):
    """A segment: `line.cross` events with the direction when a track crosses it."""

    name: str = Field(min_length=1, max_length=100, description="Unique among the camera's zones and lines; events "
                      "carry it as `zone`.")
    points: list[tuple[float, float]] = Field(min_length=2, max_length=2, description="The two end points as [x, y] "
                                              "pairs, in pixels or normalised 0..1.")
    normalized: bool = Field(default=False, description="Coordinates are fractions of the frame width and height.")
    anchor: Literal["center", "bottom"] | None = Field(default=None, description="Which point of a box crosses: center "
                                                       "or bottom; null: center for faces, bottom for people.")

    @field_validator("points")
    @classmethod
    def _distinct(cls, v: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if tuple(v[0]) == tuple(v[1]):
            raise ValueError("a line needs two distinct points")
        return v


class OutputConfig(_Strict):
    """What the camera produces besides events."""

    annotate: bool = Field(default=True, description="Draw tracks, zones and labels on the output frames.")
    path: str | None = Field(default=None, description="Write the output frames to this video file (MP4); relative "
                             "to the camera file.")
    snapshots: bool = Field(default=True, description="Attach a JPEG crop to track and identity events.")
    face_seen: Literal["per_track", "off"] = Field(default="per_track", description="Emit `face.seen` / "
                                                   "`track.start` once per new track, or never.")

    @field_validator("face_seen", mode="before")
    @classmethod
    def _yaml_off(cls, v: object) -> object:
        return "off" if v is False else v  # YAML 1.1 reads a bare `off` as false


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


class CameraConfig(_Strict):
    """One camera: where frames come from, what runs on them, and where events go."""

    name: str = Field(description="Unique camera name: letters, digits, '.', '_' or '-' (at most 100).")
    source: str | Annotated[int, Field(ge=0, le=255)] = Field(description="A video file, a folder of images, an rtsp/http(s) URL, `webcam:N` or a "
                              "device number; relative paths are resolved against the camera file.")
    source_options: SourceOptions = Field(default=SourceOptions(), description="How frames are read.")
    detect: DetectConfig = Field(default=DetectConfig(), description="The detection stage.")
    track: TrackConfig = Field(default=TrackConfig(), description="The tracking stage.")
    recognize: RecognizeConfig | None = Field(default=None, description="Identify each face track against the whole "
                                              "gallery (analyser plug-in `recognize`); null: no recognition.")
    recognize_purpose: str = Field(default="access", description="The consent purpose `recognize` searches under.")
    watchlist: WatchlistConfig | None = Field(default=None, description="Watchlist alerts (analyser plug-in "
                                              "`watchlist`); null: none.")
    redact: RedactConfig | None = Field(default=None, description="Face redaction of the output (frame filter "
                                        "plug-in `redact`); null: none.")
    analysers: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Further analyser or frame-filter plug-ins by registered name, each with "
        "its own settings (validated against the plug-in's schema).")
    zones: list[ZoneConfig] = Field(default_factory=list, description="Polygons for enter/exit/dwell events.")
    lines: list[LineConfig] = Field(default_factory=list, description="Segments for crossing events.")
    rules: list[Rule] = Field(default_factory=list, description="Alert rules evaluated over this camera's events.")
    sinks: list[SinkConfig] = Field(default_factory=list, description="Where events and alerts go.")
    output: OutputConfig = Field(default=OutputConfig(), description="Annotated output and event snapshots.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME_RE.match(v):
            raise ValueError("camera name: letters, digits, '.', '_' or '-', starting with a letter or digit, at most 100")
        return v

    @model_validator(mode="after")
    def _check(self) -> CameraConfig:
        names = [z.name for z in self.zones] + [ln.name for ln in self.lines]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"zone/line names must be unique; repeated: {', '.join(dup)}")
        for z in self.zones:
            if z.normalized and any(not (0 <= x <= 1 and 0 <= y <= 1) for x, y in z.polygon):
                raise ValueError(f"zone {z.name!r}: normalised coordinates must be within 0..1")
        for ln in self.lines:
            if ln.normalized and any(not (0 <= x <= 1 and 0 <= y <= 1) for x, y in ln.points):
                raise ValueError(f"line {ln.name!r}: normalised coordinates must be within 0..1")
        rnames = [r.name for r in self.rules]
        if len(rnames) != len(set(rnames)):
            raise ValueError("rule names must be unique")
        from .analysers import plugin_spec  # analysers -> tracking -> config: imported when validating

        for name, section in self.analysers.items():
            if name in PLUGIN_SECTIONS:
                raise ValueError(f"analysers.{name}: `{name}` has its own section; write it at the top level")
            spec = plugin_spec(name)
            if spec is not None:  # an unregistered one is refused when the pipeline is built
                try:
                    self.analysers[name] = spec.parse(section).model_dump()
                except ValidationError as exc:
                    raise ValueError(format_validation_error(exc, f"analysers.{name}")) from None
        sink_names = [s.sink_name for s in self.sinks]
        if len(sink_names) != len(set(sink_names)):
            raise ValueError("sink names must be unique (give two sinks of one type distinct `name`s)")
        for r in self.rules:
            unknown = [a for a in (r.actions or []) if a not in sink_names]
            if unknown:
                raise ValueError(f"rule {r.name!r} sends to unknown sink(s) {unknown}; sinks are {sink_names}")
        return self


    def plugin_sections(self) -> list[tuple[str, BaseModel | dict[str, Any]]]:
        """(plug-in name, its settings) for every analyser or filter this camera asks for, enabled ones only."""
        typed: list[tuple[str, BaseModel | dict[str, Any]]] = [
            (name, section) for name in PLUGIN_SECTIONS
            if (section := getattr(self, name)) is not None and getattr(section, "enabled", True)]
        extra = [(name, section) for name, section in self.analysers.items() if section.get("enabled", True) is not False]
        return typed + extra


# sections of the camera file that configure plug-ins (typed here, so OpenAPI and the console show their fields)
PLUGIN_SECTIONS = ("recognize", "watchlist", "redact")


def parse_camera(data: Any, *, base_dir: Path | None = None) -> CameraConfig:
    if not isinstance(data, dict):
        raise CameraConfigError("a camera file must be a YAML mapping (name, source, ...)")
    try:
        cfg = CameraConfig.model_validate(data)
    except ValidationError as exc:
        raise CameraConfigError(format_validation_error(exc, f"camera {data.get('name', '?')!r}")) from None
    if base_dir is not None:
        cfg = _resolve_paths(cfg, base_dir)
    return cfg


def _resolve_paths(cfg: CameraConfig, base: Path) -> CameraConfig:
    src = cfg.source
    if isinstance(src, str) and "://" not in src and not src.startswith(("webcam:", "/dev/")) and not src.isdigit():
        p = Path(src).expanduser()
        if not p.is_absolute():
            src = str((base / p).resolve())
    sinks = []
    for s in cfg.sinks:
        if s.type == "jsonl" and s.path and not Path(s.path).is_absolute():
            s = s.model_copy(update={"path": str((base / s.path).resolve())})
        sinks.append(s)
    out = cfg.output
    if out.path and not Path(out.path).is_absolute():
        out = out.model_copy(update={"path": str((base / out.path).resolve())})
    return cfg.model_copy(update={"source": src, "sinks": sinks, "output": out})


def load_camera(path: str | Path) -> CameraConfig:
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CameraConfigError(f"cannot read camera file {p}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CameraConfigError(f"camera file {p} is not valid YAML: {exc}") from None
    return parse_camera(data, base_dir=p.resolve().parent)


__all__ = [
    "PLUGIN_SECTIONS", "CameraConfig", "CameraConfigError", "DetectConfig", "LineConfig", "RecognizeConfig", "RedactConfig",
    "SourceOptions", "TrackConfig", "WatchlistConfig", "ZoneConfig", "load_camera", "parse_camera",
]
