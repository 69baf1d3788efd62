"""KYC sign-up and phone log-in: the operating points and limits of both flows.

Defaults are strict on purpose: a sign-up that passes opens a credit line, a log-in
that passes opens the account. A deployment that wants softer points says so here.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class KycSettings(BaseModel):
    operating_point: str = Field(
        "strict", pattern="^(strict|balanced|lenient)$",
        description="1:1 of the selfie against the document portrait, in ID-photo mode (cross-quality threshold "
        "calibrated on degraded LFW portraits): strict = false-match rate 1e-4.",
    )
    liveness_operating_point: str = Field(
        "strict", pattern="^(strict|balanced|lenient)$",
        description="1:1 of the selfie against the face that did the liveness challenge (same camera, minutes apart).",
    )
    min_passive_live_score: float = Field(
        0.5, ge=0, le=1,
        description="Without an active challenge, a selfie whose passive live score is below this makes the "
        "decision `fail`; above it the decision is at best `review` (a passive score alone never passes).",
    )
    session_ttl_s: float = Field(900, gt=0, description="Seconds a KYC session stays open for its submission.")
    duplicate_fpir: float | None = Field(
        None, gt=0, lt=1,
        description="Target FPIR of the duplicate-enrolment search (1:N, decision mode, purpose kyc); None: the "
        "gallery's decision_fpir.",
    )


class LoginSettings(BaseModel):
    operating_point: str = Field(
        "strict", pattern="^(strict|balanced|lenient)$",
        description="1:1 of the live face against the enrolled identity (Gallery.verify, purpose login).",
    )
    max_failures: int = Field(5, ge=1, le=100, description="Failed log-ins in a row that lock the identity out.")
    window_s: float = Field(900, gt=0, description="Failures older than this many seconds no longer count.")
    lockout_s: float = Field(900, gt=0, description="How long a lock-out lasts, in seconds.")
