"""One typed settings object for the whole platform.

Read from environment variables (`CLEARSIGHT_*`, nested with `__`) so a container,
a CI job and a laptop configure the same way; every layer receives a `Settings`
instead of reading the environment itself. The per-area models live in the bottom
layer `clearsight.settings`; this module only composes them and resolves the paths
that default into the data dir, so the CLI and the service always agree on where
things are.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .settings import (DmsSettings, EventSettings, FacePaySettings, FaceSettings, FootageSettings, GallerySettings,
                       ImageLimits, KycSettings, LoginSettings, PhotoSettings, PlateSettings, RemoteAccess,
                       ServerSettings)


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "clearsight"


def _private_dir(path: Path) -> Path:
    """Create `path` readable by its owner only: biometric data and keys live below it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def _sqlalchemy_url(url: str) -> str:
    """`postgresql://` as users write it, with the driver SQLAlchemy should use."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLEARSIGHT_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir, description="Where user data lives.")
    models_dir: Path | None = Field(
        None,
        description="Built (converted) models, apart from user data so a fresh or test data dir reuses the models "
        "the setup built once. None: <data_dir>/models.",
    )
    secrets_dir: Path | None = Field(
        None,
        description="Where the template-protection key ring, the audit key and the snapshot key live. None: "
        "<data_dir>-keys beside the data dir: outside it, so a copy of the data dir or its backup alone cannot "
        "decrypt templates or forge the audit chain, and one per data dir, since the audit key records where its "
        "own chain starts and a key rotation retires keys. Put it on another volume than the database.",
    )
    threads: int = Field(
        default_factory=lambda: max(1, min(4, os.cpu_count() or 1)), description="Threads per model inference."
    )
    images: ImageLimits = Field(default_factory=ImageLimits)
    face: FaceSettings = Field(default_factory=FaceSettings)
    dms: DmsSettings = Field(default_factory=DmsSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    events: EventSettings = Field(default_factory=EventSettings)
    gallery: GallerySettings = Field(default_factory=GallerySettings)
    plates: PlateSettings = Field(default_factory=PlateSettings)
    facepay: FacePaySettings = Field(default_factory=FacePaySettings)
    footage: FootageSettings = Field(default_factory=FootageSettings)
    photos: PhotoSettings = Field(default_factory=PhotoSettings)
    kyc: KycSettings = Field(default_factory=KycSettings)
    login: LoginSettings = Field(default_factory=LoginSettings)

    @property
    def model_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    def ensure_data_dir(self) -> Path:
        return _private_dir(self.data_dir)

    @property
    def secrets_path(self) -> Path:
        return self.secrets_dir or self.data_dir.with_name(self.data_dir.name + "-keys")

    def ensure_secrets_dir(self) -> Path:
        return _private_dir(self.secrets_path)

    # -- the one place each default path is resolved ----------------------------
    def gallery_database_url(self) -> str:
        if self.gallery.database_url:
            return _sqlalchemy_url(self.gallery.database_url)
        return f"sqlite:///{self.ensure_data_dir() / 'gallery.db'}"

    def events_database_url(self) -> str:
        """Events keep their own SQLite file by default (high volume, separate backups); on a
        server database they share the gallery's, in their own tables."""
        if self.events.database_url:
            return _sqlalchemy_url(self.events.database_url)
        if self.gallery.database_url:
            return _sqlalchemy_url(self.gallery.database_url)
        return f"sqlite:///{self.ensure_data_dir() / 'events.db'}"

    def gallery_index_dir(self) -> Path:
        return self.gallery.index_dir or self.data_dir / "gallery-index"

    def footage_index_dir(self) -> Path:
        return self.footage.index_dir or self.data_dir / "footage-index"
    def photo_library_dir(self) -> Path:
        return self.photos.library_dir or self.data_dir / "photos"

    def media_roots(self, remote: RemoteAccess | None = None) -> list[Path]:
        """Folders whose files API users (admins) may open as camera sources (of `remote`,
        default this Settings' own `server.remote`)."""
        roots = (remote or self.server.remote).media_roots or [self.data_dir / "media"]
        return [Path(r).expanduser().resolve() for r in roots]

    def template_key_file(self) -> Path:
        """The configured file; else a key ring an existing data dir already holds (layouts from
        before the secrets dir keep working); else the secrets dir."""
        if self.gallery.key_file:
            return self.gallery.key_file
        legacy = self.data_dir / "template_keys.json"
        if legacy.exists():
            return legacy
        return self.ensure_secrets_dir() / "template_keys.json"

    def events_key_file(self) -> Path:
        """The key that encrypts event snapshots (pictures of people), beside the other keys."""
        return self.template_key_file().with_name("events_key")

    def audit_key_file(self) -> Path:
        """The audit log's HMAC key: kept with the template key ring, outside the database,
        so whoever can rewrite the database cannot re-seal the audit chain."""
        return self.template_key_file().with_name("audit_key.json")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
