"""A camera described in YAML, validated up front with messages that name the field.

Example (see `examples/cameras/`)::

    name: lobby
    source: rtsp://10.0.0.5/stream1      # file, folder of images, http(s)/rtsp URL, webcam:0
    source_options: {realtime: true, drop: latest}
    detect: {detector: mediapipe, every_n: 2}
    track: {lost_s: 1.0}
    watchlist: {group: banned, operating_point: strict}
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
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import InputError
from ..rules.engine import Rule, format_validation_error
from ..rules.sinks import SinkConfig


class CameraConfigError(InputError):
    """The camera file is missing, not YAML, or fails validation (the message names the field)."""

    code = "invalid_camera_config"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReconnectConfig(_Strict):
    max_attempts: int | None = Field(default=None, ge=1)  # None: keep trying for ever
    backoff_initial_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=10.0, gt=0)
    timeout_s: float = Field(default=5.0, gt=0)


class SourceOptions(_Strict):
    realtime: bool | None = None  # files: pace like a camera (live sources always are)
    drop: Literal["latest", "none"] = "latest"
    fps: float | None = Field(default=None, gt=0)  # image folders
    loop: bool = False
    backend: Literal["auto", "pyav", "opencv"] = "auto"
    reconnect: ReconnectConfig = ReconnectConfig()
    max_frames: int | None = Field(default=None, ge=1)


class DetectConfig(_Strict):
    detector: str = "mediapipe"  # face detectors, or "opencv-hog-people" / object detectors
    every_n: int = Field(default=1, ge=1, le=100)
    min_score: float = Field(default=0.5, ge=0, le=1)
    max_side: int | None = Field(default=None, ge=64)  # downscale frames before detection
    options: dict[str, Any] = Field(default_factory=dict)


class TrackConfig(_Strict):
    enabled: bool = True
    lost_s: float = Field(default=1.0, gt=0)  # a track unseen this long has ended
    activation_threshold: float = Field(default=0.5, ge=0, le=1)
    high_conf_threshold: float = Field(default=0.6, ge=0, le=1)
    min_iou: float = Field(default=0.1, ge=0, le=1)
    min_frames: int = Field(default=1, ge=1)


class RecognizeConfig(_Strict):
    """Per-track identification: best-quality samples, one decision by vote."""

    samples: int = Field(default=3, ge=1, le=20)  # decide once this many good samples exist
    min_quality: float = Field(default=0.35, ge=0, le=1)
    operating_point: str = "balanced"
    min_votes: int | None = Field(default=None, ge=1)  # default: majority of samples
    embedder: str | None = None
    sample_every_n: int = Field(default=1, ge=1)  # consider every n-th detection of a track


class WatchlistConfig(RecognizeConfig):
    enabled: bool = True
    group: str | None = None  # a gallery group; None = every identity with watchlist consent
    purpose: Literal["watchlist"] = "watchlist"


class RedactConfig(_Strict):
    enabled: bool = True
    mode: Literal["blur", "pixelate", "fill"] = "blur"
    # identities who consented to appear (purpose `photos`) stay visible; empty = redact everyone
    keep_consented: bool = False
    consent_purpose: str = "photos"
    margin: float = Field(default=0.25, ge=0, le=2)
    detector: str = "centerface"
    min_score: float = Field(default=0.3, ge=0.05, le=1)
    hold_frames: int = Field(default=3, ge=1, le=50)  # keep redacting a face's last boxes this many frames


class ZoneConfig(_Strict):
    name: str = Field(min_length=1, max_length=100)
    polygon: list[tuple[float, float]] = Field(min_length=3)
    normalized: bool = False
    dwell_s: float | None = Field(default=None, gt=0)  # emit zone.dwell once per stay after this long
    anchor: Literal["center", "bottom"] | None = None  # default: center for faces, bottom (feet) for people


class LineConfig(_Strict):
    name: str = Field(min_length=1, max_length=100)
    points: list[tuple[float, float]] = Field(min_length=2, max_length=2)
    normalized: bool = False
    anchor: Literal["center", "bottom"] | None = None

    @field_validator("points")
    @classmethod
    def _distinct(cls, v: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if tuple(v[0]) == tuple(v[1]):
            raise ValueError("a line needs two distinct points")
        return v


class OutputConfig(_Strict):
    annotate: bool = True
    path: str | None = None  # annotated video file
    snapshots: bool = True  # attach a JPEG crop to track/identity events
    face_seen: Literal["per_track", "off"] = "per_track"

    @field_validator("face_seen", mode="before")
    @classmethod
    def _yaml_off(cls, v: object) -> object:
        return "off" if v is False else v  # YAML 1.1 reads a bare `off` as false


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


class CameraConfig(_Strict):
    name: str
    source: str | int
    source_options: SourceOptions = SourceOptions()
    detect: DetectConfig = DetectConfig()
    track: TrackConfig = TrackConfig()
    recognize: RecognizeConfig | None = None  # identify against the whole gallery (purpose `access` by default)
    recognize_purpose: str = "access"
    watchlist: WatchlistConfig | None = None
    redact: RedactConfig | None = None
    zones: list[ZoneConfig] = Field(default_factory=list)
    lines: list[LineConfig] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    sinks: list[SinkConfig] = Field(default_factory=list)
    output: OutputConfig = OutputConfig()

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
        sink_names = [s.sink_name for s in self.sinks]
        if len(sink_names) != len(set(sink_names)):
            raise ValueError("sink names must be unique (give two sinks of one type distinct `name`s)")
        for r in self.rules:
            unknown = [a for a in (r.actions or []) if a not in sink_names]
            if unknown:
                raise ValueError(f"rule {r.name!r} sends to unknown sink(s) {unknown}; sinks are {sink_names}")
        return self


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
    "CameraConfig", "CameraConfigError", "DetectConfig", "LineConfig", "RecognizeConfig", "RedactConfig",
    "SourceOptions", "TrackConfig", "WatchlistConfig", "ZoneConfig", "load_camera", "parse_camera",
]
