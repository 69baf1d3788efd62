"""Models the effects use, registered like every other model.

MediaPipe 0.10.14 ships these tflite files inside its wheel. Only the files that
ship are registered: `Pose(model_complexity=0|2)` would fetch the lite/heavy
landmark models from the internet at run time, so the effects always ask for
complexity 1 (`pose_landmark_full.tflite`).
"""

from __future__ import annotations

from ...models.registry import ModelSpec

_MP = "mediapipe==0.10.14"

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="mp-pose-detection",
        task="person-pose-detection",
        source=_MP,
        module="mediapipe",
        file="modules/pose_detection/pose_detection.tflite",
        sha256="9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
        licence="Apache-2.0",
        input={"size": [224, 224], "color": "RGB", "runtime": "mediapipe legacy solutions"},
        notes="BlazePose person detector (the first stage of mp.solutions.pose)",
    ),
    ModelSpec(
        name="mp-pose-landmark-full",
        task="body-landmarks",
        source=_MP,
        module="mediapipe",
        file="modules/pose_landmark/pose_landmark_full.tflite",
        sha256="e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
        licence="Apache-2.0",
        input={"size": [256, 256], "color": "RGB", "runtime": "mediapipe legacy solutions", "model_complexity": 1},
        notes="BlazePose GHUM full: 33 body landmarks (+ optional segmentation)",
    ),
    ModelSpec(
        name="mp-selfie-segmentation",
        task="person-segmentation",
        source=_MP,
        module="mediapipe",
        file="modules/selfie_segmentation/selfie_segmentation.tflite",
        sha256="9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
        licence="Apache-2.0",
        input={"size": [256, 256], "color": "RGB", "runtime": "mediapipe legacy solutions", "model_selection": 0},
        notes="MediaPipe selfie segmentation, general (square) model",
    ),
    ModelSpec(
        name="mp-selfie-segmentation-landscape",
        task="person-segmentation",
        source=_MP,
        module="mediapipe",
        file="modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
        sha256="a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd",
        licence="Apache-2.0",
        input={"size": [256, 144], "color": "RGB", "runtime": "mediapipe legacy solutions", "model_selection": 1},
        notes="MediaPipe selfie segmentation, landscape model (faster, video calls)",
    ),
)


def ensure_registered() -> None:
    """Make these specs resolvable before the registry lists this module itself
    (until then they are added at run time; afterwards this is a no-op)."""
    from ...errors import ModelNotFoundError
    from ...models.registry import get_spec, register

    for spec in SPECS:
        try:
            get_spec(spec.name)
        except ModelNotFoundError:
            register(spec)
