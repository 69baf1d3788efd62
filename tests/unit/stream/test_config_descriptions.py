"""Every field a user writes in a camera file or a rules file carries a description
(OpenAPI and the console's forms show them)."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel

from clearsight.rules.engine import Condition, CountCondition, Rule, RuleSet
from clearsight.stream.config import CameraConfig
from clearsight.stream.detectors import CenterFaceOptions, DlibHogOptions, HogPeopleOptions, MediaPipeOptions

pytestmark = pytest.mark.unit


def _models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _walk(root: type[BaseModel]) -> dict[type[BaseModel], list[str]]:
    """model -> its fields without a description, for `root` and every model reachable from its fields."""
    seen: dict[type[BaseModel], list[str]] = {}
    todo = [root]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen[model] = [name for name, f in model.model_fields.items() if not (f.description or "").strip()]
        for f in model.model_fields.values():
            todo.extend(_models_in(f.annotation))
    return seen


@pytest.mark.parametrize("root", [CameraConfig, RuleSet, Rule, Condition, CountCondition, MediaPipeOptions,
                                  CenterFaceOptions, DlibHogOptions, HogPeopleOptions])
def test_every_user_facing_field_has_a_description(root):
    found = _walk(root)
    missing = {m.__name__: names for m, names in found.items() if names}
    assert not missing, f"fields without Field(description=...): {missing}"


def test_the_walk_reaches_every_nested_model():
    names = {m.__name__ for m in _walk(CameraConfig)}
    # nested through Optional, list and unions: a walk that stopped at the top would pass vacuously
    assert {"SourceOptions", "ReconnectConfig", "DetectConfig", "TrackConfig", "RecognizeConfig", "WatchlistConfig",
            "RedactConfig", "ZoneConfig", "LineConfig", "OutputConfig", "Rule", "Condition", "CountCondition",
            "SinkConfig"} <= names


def test_the_walk_finds_a_missing_description():
    class Inner(BaseModel):
        documented: int = 0

    class Outer(BaseModel):
        inner: list[Inner] | None = None

    assert _walk(Outer) == {Outer: ["inner"], Inner: ["documented"]}
