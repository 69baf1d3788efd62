"""One typed settings object for the whole platform.

Read from environment variables (`CLEARSIGHT_*`, nested with `__`) so a container,
a CI job and a laptop configure the same way; every layer receives a `Settings`
instead of reading the environment itself.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .apps.dms.settings import DmsSettings
from .gallery.settings import GallerySettings
from .rules.sinks import EventSettings
from .server.settings import ServerSettings


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "clearsight"


class ImageLimits(BaseModel):
    # 50 MP covers a 8K photo; a decompression bomb of billions of pixels is refused
    # before any buffer is allocated.
    max_pixels: int = 50_000_000
    max_bytes: int = 64 * 1024 * 1024


class FaceSettings(BaseModel):
    detector: str = "mediapipe"
    # chosen by bench/verify.py: mirrored-chip averaging lifts LFW TAR@FMR1e-3 from 0.84 to 0.89 for ~4 ms
    embedder: str = "dlib-resnet-onnx-flip"
    min_detection_score: float = 0.5
    operating_point: str = "balanced"
    # quality gate
    min_face_size: float = 40.0
    min_sharpness: float = 15.0
    max_abs_yaw: float = 35.0
    max_abs_pitch: float = 30.0
    max_abs_roll: float = 30.0
    min_brightness: float = 40.0
    max_brightness: float = 220.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLEARSIGHT_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    # Built (converted) models live apart from user data so a fresh or test data
    # dir reuses the models the setup built once. Default: <data_dir>/models.
    models_dir: Path | None = None
    threads: int = Field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    images: ImageLimits = ImageLimits()
    face: FaceSettings = FaceSettings()
    dms: DmsSettings = DmsSettings()
    server: ServerSettings = ServerSettings()
    events: EventSettings = EventSettings()
    gallery: GallerySettings = GallerySettings()

    @property
    def model_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
