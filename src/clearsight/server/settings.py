"""Service settings. A pydantic model so the lead can nest it in `clearsight.config.Settings`
as `server` (env `CLEARSIGHT_SERVER__*`); until then `server_settings()` reads the same
variables itself, so configuration works either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:  # config may import ServerSettings from here: no import cycle at run time
    from ..config import Settings


class RateLimits(BaseModel):
    # Requests per minute per key, by role. A client integrates a product (kiosk, app)
    # and gets a modest budget; operators and admins drive the console.
    admin: int = 600
    operator: int = 600
    auditor: int = 120
    client: int = 120


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    # Empty: no cross-origin access at all (the console is same-origin).
    cors_origins: list[str] = Field(default_factory=list)
    # Whole request body; images inside are also bounded by `Settings.images`.
    max_request_bytes: int = 16 * 1024 * 1024
    rate_limits: RateLimits = RateLimits()
    # Load the face models in the background at start-up, so /readyz turns green
    # without a first slow request; off in tests that never touch a model.
    warmup: bool = True
    # Max faces returned with crops in one search (bounds response size).
    max_search_faces: int = 10


class _EnvServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLEARSIGHT_", env_nested_delimiter="__", extra="ignore")
    server: ServerSettings = ServerSettings()


def server_settings(settings: Settings | None = None) -> ServerSettings:
    from ..config import get_settings

    settings = settings or get_settings()
    nested = getattr(settings, "server", None)
    if isinstance(nested, ServerSettings):
        return nested
    return _EnvServerSettings().server
