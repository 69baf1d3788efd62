"""Stand-in stage registration of the COCO detectors (`centernet`, `nanodet`) for camera files.

Why here and temporary: the stream stage for the COCO detectors belongs to the
objects work (issue 14, part 1), which registers them in `stream.detectors` with
the full option set (tiles, class merging). Until that lands, camera files with
`detector: centernet` would be refused, so this registers the same names with a
compatible subset of the options (`classes`, `letterbox`) only when no one else
has. Once `stream.detectors` registers them itself, this does nothing; delete it then.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ...stream.detectors import DetectorOptions, Observation, StageDetector, available_stage_detectors, register_stage_detector

PEOPLE_AND_VEHICLES = ["person", "bicycle", "car", "motorcycle", "bus", "truck"]


class _CocoOptions(DetectorOptions):
    classes: list[str] = Field(default_factory=lambda: list(PEOPLE_AND_VEHICLES), min_length=1,
                               description="COCO classes to keep (default: people and vehicles).")
    letterbox: bool = Field(default=True, description="Pad the frame to the square input instead of stretching it.")


class _CocoStage:
    def __init__(self, backend: str, *, min_score: float = 0.4, classes: list[str] | None = None,
                 letterbox: bool = True) -> None:
        from ...vision.objects import create_object_detector

        self.name = backend
        self.classes = tuple(classes or PEOPLE_AND_VEHICLES)
        self.label = "person" if self.classes == ("person",) else "object"
        self._det = create_object_detector(backend, min_score=float(min_score), letterbox=letterbox)

    def detect(self, rgb: np.ndarray) -> list[Observation]:
        # one box per object: the COCO heads often score one car as car and as truck at the same place
        kept: list[Observation] = []
        for d in sorted(self._det.detect(rgb, self.classes), key=lambda d: -d.score):
            if all(d.box.iou(k.box) < 0.7 for k in kept):
                kept.append(Observation(d.box, d.score, d.label))
        return kept


def _factory(backend: str):  # noqa: ANN202
    def make(*, min_score: float = 0.4, **options: object) -> StageDetector:
        return _CocoStage(backend, min_score=min_score, **options)  # type: ignore[arg-type]

    return make


for _backend in ("centernet", "nanodet"):
    if _backend not in available_stage_detectors():
        register_stage_detector(_backend, _CocoOptions)(_factory(_backend))
