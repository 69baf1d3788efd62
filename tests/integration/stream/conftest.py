"""Composed test videos (real LFW photos over a real street frame) shared by the stream tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from clearsight.types import BBox


@dataclass
class Composed:
    video: Path
    people: list[tuple[str, list[Path]]]  # identity, photos (photo 0 enrols, photo 1 walks through the scene)
    truth: list[list[tuple[str, BBox]]]
    fps: float


@pytest.fixture(scope="session")
def composed(shared_data, tmp_path_factory) -> Composed:
    from clearsight.stream.synthetic import background, crossing_scene, lfw_identities, make_sprite

    people = lfw_identities(shared_data, 6, per_person=2)
    sprites = [(name, make_sprite(photos[1])) for name, photos in people]
    scene = crossing_scene(sprites, bg=background(shared_data), fps=25, seconds_each=2.0, overlap=0.5)
    path = tmp_path_factory.mktemp("composed") / "crossing.mp4"
    truth = scene.write(path)
    return Composed(path, people, truth, 25.0)


@pytest.fixture(scope="session")
def small_composed(shared_data, tmp_path_factory) -> Composed:
    """A shorter, smaller scene (3 people, 640x360, 15 fps) for the costlier CenterFace-per-frame tests."""
    from clearsight.stream.synthetic import background, crossing_scene, lfw_identities, make_sprite

    people = lfw_identities(shared_data, 3, per_person=2)
    sprites = [(name, make_sprite(photos[1])) for name, photos in people]
    scene = crossing_scene(sprites, bg=background(shared_data, (640, 360)), fps=15, seconds_each=1.6, overlap=0.4,
                           face_width=80)
    path = tmp_path_factory.mktemp("small") / "crossing.mp4"
    truth = scene.write(path)
    return Composed(path, people, truth, 15.0)
