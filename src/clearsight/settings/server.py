"""The REST service and console."""

from __future__ import annotations

from pydantic import BaseModel, Field

from .remote import RemoteAccess


class RateLimits(BaseModel):
    """Requests per minute per key, by role: a client integrates a product (kiosk, app) and
    gets a modest budget; operators and admins drive the console."""

    admin: int = Field(600, gt=0, description="Requests per minute for an admin key.")
    operator: int = Field(600, gt=0, description="Requests per minute for an operator key.")
    auditor: int = Field(120, gt=0, description="Requests per minute for an auditor key.")
    client: int = Field(120, gt=0, description="Requests per minute for a client key.")


class ServerSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="Port to listen on.")
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed cross-origin access; empty: none (the console is same-origin)."
    )
    max_request_bytes: int = Field(
        16 * 1024 * 1024, gt=0,
        description="Largest request body; images inside are also bounded by the image limits.",
    )
    rate_limits: RateLimits = Field(default_factory=RateLimits, description="Requests per minute per key, by role.")
    warmup: bool = Field(
        True,
        description="Load the face models in the background at start-up, so /readyz turns green without a slow "
        "first request.",
    )
    workers: int = Field(
        1, ge=1, le=64,
        description="Inference worker processes for detect, embed, verify and search (each loads the face models). "
        "1: inference runs in the service process, one at a time. `clearsight serve` defaults to one per core.",
    )
    max_search_faces: int = Field(10, gt=0, description="Most faces returned with crops in one search.")
    remote: RemoteAccess = Field(
        default_factory=RemoteAccess,
        description="The allow-list of what API users may make the service reach: camera sources, webhook and MQTT "
        "targets, local media.",
    )
