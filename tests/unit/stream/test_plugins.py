"""Analysers and frame filters as plug-ins: registered by name, composed from the camera file,
their labels and overlays drawn by the annotator; `stream` names no app."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field

from clearsight.rules import MemorySink
from clearsight.rules.events import make_event
from clearsight.stream.analysers import (AnalyserOutput, FrameView, PluginContext, TextOverlay, register_analyser,
                                         register_filter)
from clearsight.stream.annotate import Annotator
from clearsight.stream.config import CameraConfigError, parse_camera
from clearsight.stream.detectors import Observation
from clearsight.stream.pipeline import CameraPipeline
from clearsight.types import BBox

pytestmark = pytest.mark.unit

SRC = Path(__file__).parents[3] / "src" / "clearsight"


class CrowdConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at_least: int = Field(default=1, ge=1, description="Tracks that make a crowd.")


class CrowdAnalyser:
    """A toy crowd counter of the kind the crowd/retail work adds: an event when the count reaches
    `at_least`, a label per track and a counter overlay."""

    name = "crowd"

    def __init__(self, config: CrowdConfig, ctx: PluginContext) -> None:
        self.config, self.camera = config, ctx.camera
        self.ended: list[int] = []
        self.closed = False

    def analyse(self, view: FrameView) -> AnalyserOutput:
        n = len(view.tracks)
        events = (make_event("crowd.count", self.camera, view.time, [t.track_id for t in view.tracks], None, count=n),) \
            if n >= self.config.at_least else ()
        return AnalyserOutput(events, {t.track_id: "in-crowd" for t in view.tracks},
                              (TextOverlay((5, 20), f"people {n}", (255, 0, 255)),))

    def end_track(self, track_id: int, t: float) -> list:
        self.ended.append(track_id)
        return []

    def close(self) -> None:
        self.closed = True


class InvertConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True


class InvertFilter:
    name = "invert"

    def __init__(self) -> None:
        self.frames = 0

    def apply(self, view: FrameView, image: np.ndarray) -> np.ndarray:
        self.frames += 1
        return 255 - image

    def stats(self) -> dict[str, int]:
        return {"frames": self.frames}


register_analyser("test-crowd", CrowdAnalyser, CrowdConfig)
register_filter("test-invert", lambda cfg, ctx: InvertFilter(), InvertConfig)


class _OneBox:
    """A fixed detection: this test is about composition, not detection."""

    name = "fixed"
    label = "person"

    def detect(self, rgb):
        return [Observation(BBox(40, 30, 100, 110), 0.9, "person")]


@pytest.fixture
def folder(tmp_path):
    from clearsight.io import save_image

    for i in range(4):
        save_image(np.full((120, 160, 3), 60, np.uint8), tmp_path / f"{i}.png")
    return tmp_path


def test_camera_file_composes_registered_plugins(folder):
    cfg = parse_camera({"name": "shop", "source": str(folder), "output": {"face_seen": "off"},
                        "analysers": {"test-crowd": {"at_least": 1}, "test-invert": {}}})
    mem = MemorySink()
    pipe = CameraPipeline(cfg, extra_sinks=[(mem, "all")], detector=_OneBox(), keep_preview=True)
    assert [a.name for a in pipe.analysers] == ["crowd"] and [f.name for f in pipe.filters] == ["invert"]
    summary = pipe.run()
    pipe.close()
    # ByteTrack confirms the track on its second sighting: 3 of 4 frames have a track
    assert summary.events["crowd.count"] == 3 and summary.filters == {"invert": {"frames": 4}}
    assert all(e.data["count"] == 1 for e in mem.events if e.type == "crowd.count")
    track_ids = {t for e in mem.events if e.type == "crowd.count" for t in e.track_ids}
    assert len(track_ids) == 1 and pipe.analysers[0].ended == sorted(track_ids) and pipe.analysers[0].closed
    # the annotator drew the analyser's overlay (magenta text) on the filtered (inverted: 195) frame
    out = pipe.latest
    assert out is not None and out[60, 20].tolist() == [195, 195, 195]
    assert (np.all(out[5:25, 5:80] == (255, 0, 255), axis=-1)).any()


def test_plugin_schema_is_checked_and_unknown_plugins_refused(folder):
    with pytest.raises(CameraConfigError, match="analysers.test-crowd"):
        parse_camera({"name": "shop", "source": str(folder), "analysers": {"test-crowd": {"at_least": 0}}})
    with pytest.raises(CameraConfigError, match="own section"):
        parse_camera({"name": "shop", "source": str(folder), "analysers": {"watchlist": {}}})
    cfg = parse_camera({"name": "shop", "source": str(folder), "analysers": {"no-such-thing": {}}})
    with pytest.raises(CameraConfigError, match="no-such-thing"):
        CameraPipeline(cfg, detector=_OneBox())
    from clearsight.apps.compose import check_plugins

    with pytest.raises(CameraConfigError, match="no-such-thing"):
        check_plugins(cfg)


def test_annotator_draws_labels_of_every_analyser():
    from clearsight.stream.tracking import Tracked

    tr = Tracked(7, Observation(BBox(20, 20, 80, 90), 0.9, "face"))
    img = np.zeros((120, 160, 3), np.uint8)
    plain = Annotator().draw(img, [tr], None)
    labelled = Annotator().draw(img, [tr], None, [AnalyserOutput(labels={7: "Ada Lovelace"}), AnalyserOutput()])
    assert plain.any() and (labelled != plain).any()  # the label is drawn; the box in both
    assert not img.any()  # drawing never touches the frame the pipeline computed on


def test_stream_imports_no_app():
    """`stream` is below the apps (also inside functions and under TYPE_CHECKING)."""
    offenders = []
    for path in sorted((SRC / "stream").glob("*.py")):
        if path.name == "cli.py":  # moves to the top-level cli package (the CLI work)
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                mod = ("." * node.level) + (node.module or "")
                if mod.startswith("..apps") or mod.startswith("clearsight.apps"):
                    offenders.append(f"{path.name}:{node.lineno} {mod}")
            elif isinstance(node, ast.Import):
                offenders += [f"{path.name}:{node.lineno} {a.name}" for a in node.names if a.name.startswith("clearsight.apps")]
    assert offenders == []


def test_without_the_composition_root_an_app_plugin_is_refused_clearly(tmp_path):
    code = (
        "from clearsight.stream.config import parse_camera\n"
        "from clearsight.stream.pipeline import CameraPipeline\n"
        "from clearsight.stream.config import CameraConfigError\n"
        f"cfg = parse_camera({{'name': 'c', 'source': 'x.mp4', 'watchlist': {{}}}})\n"
        "try:\n    CameraPipeline(cfg, detector=object())\nexcept CameraConfigError as e:\n    print(e)\n"
        "import sys; print(sorted(m for m in sys.modules if m.startswith('clearsight.apps')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert "'watchlist'" in out and "clearsight.apps.compose" in out
    assert out.strip().endswith("[]")  # building a pipeline loaded no app
