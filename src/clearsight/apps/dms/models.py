"""Models driver monitoring adds to the registry (the face mesh is already there).

`SPECS` is the hook `clearsight.models.registry._SPEC_MODULES` reads; until the
registry lists this module, `ensure_registered()` adds the specs at run time.
"""

from __future__ import annotations

from ...models.registry import ModelSpec, all_specs, register

IRIS_MODEL = "iris-landmark"

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name=IRIS_MODEL,
        task="eye-landmarks",
        source="mediapipe==0.10.14",
        module="mediapipe",
        file="modules/iris_landmark/iris_landmark.tflite",
        sha256="d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
        licence="Apache-2.0",
        input={"size": [64, 64], "color": "RGB", "range": "0..1", "runtime": "mediapipe calculator graph"},
        notes="71 eye-contour + 5 iris points on an eye crop; DMS eye openness and eye-crop state",
    ),
)


def ensure_registered() -> None:
    names = {s.name for s in all_specs()}
    for spec in SPECS:
        if spec.name not in names:
            register(spec)
