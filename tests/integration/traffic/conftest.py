"""Composed traffic material (real car and pedestrian photos over a real empty road), built once per session."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from . import scenes


@dataclass
class Material:
    road: np.ndarray
    cars: list[scenes.Sprite]
    people: list[scenes.Sprite]
    detector: object  # the stage detector the pipelines run (centernet)


@pytest.fixture(scope="session")
def traffic_material(shared_data) -> Material:
    import clearsight.apps.compose  # noqa: F401 - registers the plug-ins
    from clearsight.stream.detectors import create_stage_detector
    from clearsight.vision.objects import create_object_detector

    for part in (("traffic", "ngsim_us101", "frames"), ("plates", "openalpr", "endtoend"),
                 ("tracking", "pedestrians", "tud_campus", "gt.csv")):
        if not shared_data.joinpath(*part).exists():
            pytest.skip(f"shared test data not found: {shared_data.joinpath(*part)}")
    cutter = create_object_detector("centernet", min_score=0.3, letterbox=True)
    cars = scenes.vehicle_sprites(shared_data, cutter, 3)
    people = scenes.person_sprites(shared_data, 1)
    stage = create_stage_detector("centernet", min_score=0.3, classes=["person", "bicycle", "car", "motorcycle", "bus",
                                                                       "truck"])
    return Material(scenes.road_background(shared_data), cars, people, stage)
