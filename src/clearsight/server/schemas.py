"""Response and parameter models: the OpenAPI contract clients (and schemathesis) rely on."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import Path, Query
from pydantic import BaseModel, Field, model_validator

from ..types import Face, QualityReport

OperatingPointName = Literal["strict", "balanced", "lenient"]
# The gallery's fixed vocabulary: identification is always for a declared purpose.
PurposeName = Literal["login", "kyc", "access", "facepay", "watchlist", "photos", "investigation", "missing_person"]
SearchModeName = Literal["decision", "candidates"]

# SQLite and PostgreSQL integers stop at 2**63-1: a larger id or offset must be a 422 at the edge, not an
# OverflowError in the driver (a 500, which schemathesis found on /v1/photos/faces/{id}/image).
MAX_ROW_ID = 2**62
RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a row id")]
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
MAX_MINOR_UNITS = 10**12  # money: far above any fare or top-up, far below the integer columns
PageOffset = Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")]


class BoxOut(BaseModel):
    x1: float
    y1: float
    x2: float
    y2: float


class PoseOut(BaseModel):
    yaw: float
    pitch: float
    roll: float


class QualityOut(BaseModel):
    score: float
    passed: bool
    reasons: list[str]
    face_size: float
    sharpness: float
    brightness: float
    pose: PoseOut


class FaceOut(BaseModel):
    box: BoxOut
    score: float
    landmarks: dict[str, list[float]]
    detector: str
    mesh_points: int | None = None
    quality: QualityOut | None = None
    crop: str | None = Field(None, description="data URL of a JPEG crop of the face")


def face_out(face: Face, quality: QualityReport | None = None, crop: str | None = None) -> FaceOut:
    d: dict[str, Any] = face.to_dict()
    if quality is not None:
        d["quality"] = quality.to_dict()
    if crop is not None:
        d["crop"] = crop
    return FaceOut.model_validate(d)


def face_crop(rgb: np.ndarray, face: Face, size: int = 128) -> str:
    """A square JPEG crop around the face, as a data URL small enough to inline."""
    from PIL import Image

    from ..io import encode_jpeg

    h, w = rgb.shape[:2]
    box = face.box.scaled(1.4)
    side = max(box.width, box.height)
    cx, cy = box.center
    x1, y1 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x2, y2 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    if x2 <= x1 or y2 <= y1:
        x1, y1, x2, y2 = 0, 0, w, h
    chip = Image.fromarray(rgb[y1:y2, x1:x2])
    chip.thumbnail((size, size))
    return "data:image/jpeg;base64," + base64.b64encode(encode_jpeg(np.asarray(chip), quality=85)).decode()


class DetectParams(BaseModel):
    model_config = {"extra": "forbid"}
    quality: bool = Field(False, description="also report a quality assessment per face")
    mesh: bool = Field(False, description="also fit the 478-point face mesh (reports its point count)")
    crops: bool = Field(False, description="include a small JPEG crop of each face")


class DetectOut(BaseModel):
    width: int
    height: int
    faces: list[FaceOut]


class VerifyParams(BaseModel):
    model_config = {"extra": "forbid"}
    operating_point: OperatingPointName = "balanced"
    identity_id: str | None = Field(
        None, max_length=64, description="compare `image_a` with this enrolled identity instead of `image_b`"
    )
    purpose: PurposeName | None = Field(None, description="required with identity_id (audited)")
    id_photo: bool = Field(False, description="image_b is a small, printed or scanned document portrait: ID-photo "
                           "quality gate and cross-quality threshold")


class VerifyOut(BaseModel):
    similarity: float
    decision: Literal["match", "no_match", "inconclusive"] = Field(
        description="inconclusive: a face failed the quality gate (see reasons); never a match")
    match: bool
    threshold: float
    operating_point: str
    target_fmr: float
    model: str
    reasons: list[str] = Field(default_factory=list, description="failed quality checks, by face (a: / b:)")
    id_photo: bool = False
    identity_id: str | None = None
    face_a: FaceOut | None = None
    face_b: FaceOut | None = None


class EmbedParams(BaseModel):
    model_config = {"extra": "forbid"}


class EmbedOut(BaseModel):
    model: str
    dim: int
    vector: list[float]
    face: FaceOut


class ModelOut(BaseModel):
    name: str
    task: str
    source: str
    kind: str
    licence: str
    sha256: str
    size: int | None
    checksum_ok: bool
    problem: str | None = None
    optional: bool = Field(default=False, description="Opt-in (installed by an extra, e.g. for its licence): "
                           "absent from a default install by design")


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    uptime_s: float


class ReadyOut(BaseModel):
    ready: bool
    models_loaded: bool
    gallery: Literal["ok", "unavailable", "not_opened"]
    detail: str | None = None


class KeyOut(BaseModel):
    id: str
    name: str
    role: Literal["admin", "operator", "auditor", "client"]
    created_at: str
    revoked_at: str | None
    last_used_at: str | None
    rate_limit: int | None
    permissions: list[str]


class KeyCreate(BaseModel):
    model_config = {"extra": "forbid"}
    role: Literal["admin", "operator", "auditor", "client"]
    name: str = Field("", max_length=100)
    rate_limit: int | None = Field(None, ge=1, le=100_000, description="requests per minute; default: the role's")


class KeyCreated(KeyOut):
    key: str = Field(description="the API key itself; shown only now")


# ---------------------------------------------------------------- gallery
class IdentityCreate(BaseModel):
    model_config = {"extra": "forbid"}
    display_name: str = Field(min_length=1, max_length=200)
    external_id: str | None = Field(None, min_length=1, max_length=200, description="your own id (unique)")
    attributes: dict[str, str | int | float | bool | None] | None = Field(
        None, description="free-form metadata (never race, ethnicity, gender or age inferred by us)"
    )


class IdentityUpdate(BaseModel):
    """Fields left out (or null) stay as they are; `attributes` replaces the whole object."""

    model_config = {"extra": "forbid", "json_schema_extra": {"minProperties": 1}}
    display_name: str | None = Field(None, min_length=1, max_length=200)
    external_id: str | None = Field(None, min_length=1, max_length=200, description="your own id (unique)")
    attributes: dict[str, str | int | float | bool | None] | None = Field(
        None, description="replaces the stored attributes (never race, ethnicity, gender or age inferred by us)"
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> IdentityUpdate:
        if self.display_name is None and self.external_id is None and self.attributes is None:
            raise ValueError("send at least one of display_name, external_id, attributes")
        return self


class ConsentOut(BaseModel):
    id: str
    identity_id: str
    purpose: str
    legal_basis: str
    granted_by: str
    granted_at: str
    expires_at: str | None
    withdrawn_at: str | None = None
    withdrawn_by: str | None = None
    active: bool


class IdentityOut(BaseModel):
    id: str
    external_id: str | None
    display_name: str
    attributes: dict[str, Any]
    created_at: str
    template_count: int
    consents: list[ConsentOut] | None = None


class IdentityPage(BaseModel):
    items: list[IdentityOut]
    offset: int
    limit: int
    total: int


class ConsentCreate(BaseModel):
    model_config = {"extra": "forbid"}
    purpose: PurposeName
    legal_basis: str = Field(min_length=1, max_length=100, description="e.g. consent, contract, legal_obligation")
    granted_by: str = Field(min_length=1, max_length=200, description="who gave consent")
    expires_at: datetime | None = Field(None, description="ISO 8601; must be in the future")


class EnrolParams(BaseModel):
    model_config = {"extra": "forbid"}


class EnrolOut(BaseModel):
    template_id: str
    identity_id: str
    quality: QualityOut | None
    warnings: list[str]


class GroupCreate(BaseModel):
    model_config = {"extra": "forbid"}
    name: str = Field(min_length=1, max_length=100)


class GroupOut(BaseModel):
    id: str
    name: str
    created_at: str
    member_count: int


class GroupPage(BaseModel):
    items: list[GroupOut]


class SearchParams(BaseModel):
    model_config = {"extra": "forbid"}
    purpose: PurposeName = Field(description="why you are identifying: only identities consenting to it are searched")
    top_k: int = Field(5, ge=1, le=50)
    group: str | None = Field(None, min_length=1, max_length=100, description="restrict to one group / watchlist")
    operating_point: OperatingPointName = Field(
        "balanced", description="kept for old clients: each hit still names the strictest 1:1 point it passes, but "
        "the decision is open-set (mode, fpir)")
    all_faces: bool = Field(False, description="search every face in the photo (default: the largest)")
    mode: SearchModeName | None = Field(None, description="decision (one identity or none) | candidates (a ranked "
                                        "list for human review); default: the purpose's")
    fpir: float | None = Field(None, gt=0, le=0.5, description="target false-positive identification rate; default: "
                               "the purpose's (GallerySettings)")


class MatchOut(BaseModel):
    identity_id: str
    display_name: str | None
    similarity: float
    match: bool = Field(description="the open-set decision: true for at most one hit, never in candidates mode")
    above_threshold: bool = Field(False, description="the similarity passes the open-set threshold (in candidates "
                                  "mode: worth a human's review)")
    operating_point: str | None = Field(description="the strictest 1:1 operating point passed, if any")
    template_id: str | None = None
    templates: int = Field(1, description="templates of the identity fused into the similarity")


class FaceMatches(BaseModel):
    face: FaceOut
    matches: list[MatchOut]


class OpenSetOut(BaseModel):
    mode: SearchModeName
    fpir: float = Field(description="target false-positive identification rate the decision holds")
    n: int = Field(description="identities compared (consented for the purpose, in the group)")
    threshold: float | None = Field(description="similarity a hit needs; null: no hit can be a match at this N")
    fmr: float = Field(description="per-comparison false-match rate of the threshold")
    expected_fnir: float | None = Field(description="share of enrolled people this point is expected to miss at N")
    reachable: bool = Field(description="false: the embedder cannot reach a useful point for this FPIR at this N")
    note: str | None = None


class SearchOut(BaseModel):
    purpose: str
    operating_point: str
    faces: list[FaceMatches]
    open_set: OpenSetOut | None = None


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    purpose: str | None
    target: str | None
    outcome: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    offset: int
    limit: int
    total: int = Field(description="entries in the whole log, for paging")


class AuditVerificationOut(BaseModel):
    ok: bool
    checked: int
    first_bad: int | None
    reason: str | None = None


class EraseOut(BaseModel):
    erased: str


class IdentityExport(BaseModel):
    identity: dict[str, Any]
    consents: list[dict[str, Any]]
    groups: list[str]
    templates: list[dict[str, Any]]


class PurgeOut(BaseModel):
    consents_purged: int
    templates_purged: int
    identities_affected: int
