"""The face pipeline: which detector and embedder, and the quality gate."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FaceSettings(BaseModel):
    detector: str = Field("mediapipe", description="Face detector by registry name: mediapipe | centerface | dlib-hog.")
    embedder: str = Field(
        "dlib-resnet-onnx-flip",
        description="Face embedder by registry name. The default (mirrored-chip averaging) lifts LFW TAR@FMR1e-3 "
        "from 0.84 to 0.89 for ~4 ms (bench/verify.py). Alternatives measured side by side by bench/embedders.py: "
        "faceres, faceres-deep, mobileface, mobilefacenet, the fusions dlib+faceres, dlib+faceres-deep, "
        "dlib+mobileface, and facenet / dlib+facenet (opt-in: `clearsight build-models --facenet`). Templates of "
        "different embedders are never compared: changing it means re-enrolling.",
    )
    min_detection_score: float = Field(0.5, ge=0, le=1, description="Faces scored below this are dropped.")
    operating_point: str = Field("balanced", description="Default 1:1 operating point: strict | balanced | lenient.")
    min_face_size: float = Field(40.0, ge=0, description="Quality gate: smallest face side in pixels.")
    min_sharpness: float = Field(15.0, ge=0, description="Quality gate: least variance of the Laplacian on the face.")
    max_abs_yaw: float = Field(35.0, ge=0, description="Quality gate: largest head yaw in degrees.")
    max_abs_pitch: float = Field(30.0, ge=0, description="Quality gate: largest head pitch in degrees.")
    max_abs_roll: float = Field(30.0, ge=0, description="Quality gate: largest head roll in degrees.")
    min_brightness: float = Field(40.0, ge=0, le=255, description="Quality gate: darkest mean face brightness (0-255).")
    max_brightness: float = Field(220.0, ge=0, le=255, description="Quality gate: brightest mean face brightness (0-255).")
