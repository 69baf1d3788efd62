"""The build's bookkeeping: what counts as built, what the registry trusts, and the
errors a setup without npm or network gets. No network, no TensorFlow."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from clearsight.errors import ModelNotFoundError
from clearsight.models import human, registry

pytestmark = pytest.mark.unit


def _fake_model_dir(tmp_path: Path, tarball: str = human.NPM_TARBALL_SHA256) -> Path:
    d = tmp_path / "models" / human.SUBDIR
    d.mkdir(parents=True)
    f = d / "emotion.onnx"
    f.write_bytes(b"not really a model")
    manifest = {"tarball_sha256": tarball, "models": {"emotion": {"sha256": human._sha256(f), "size": f.stat().st_size}}}
    (d / human.MANIFEST).write_text(json.dumps(manifest))
    return tmp_path / "models"


def test_specs_cover_exactly_the_allowed_models():
    names = {s.name for s in human.SPECS}
    assert names == {"nanodet", "centernet", "movenet-multipose", "antispoof", "liveness", "emotion", "faceres",
                     "faceres-deep", "mobileface", "mobilefacenet"}
    # protected attributes are never built
    assert not names & {"gear", "gender", "gender-ssrnet-imdb", "age"}
    assert all(s.kind == "built" and s.licence == "MIT" and s.source.startswith("npm:") for s in human.SPECS)


def test_registry_trusts_the_manifest_checksum_and_refuses_a_changed_file(tmp_path, monkeypatch):
    from clearsight.config import get_settings
    from clearsight.errors import ChecksumMismatchError

    models = _fake_model_dir(tmp_path)
    monkeypatch.setenv("CLEARSIGHT_MODELS_DIR", str(models))
    get_settings.cache_clear()
    assert registry.resolve("emotion") == models / human.SUBDIR / "emotion.onnx"
    # a different file under the same name: the manifest vouches for other bytes
    (models / human.SUBDIR / "emotion.onnx").write_bytes(b"tampered")
    with pytest.raises(ChecksumMismatchError):
        registry.resolve("emotion")
    assert human._status(["emotion"], models)["emotion"] == "file differs from the manifest"


def test_manifest_of_another_package_version_is_ignored(tmp_path, monkeypatch):
    from clearsight.config import get_settings

    models = _fake_model_dir(tmp_path, tarball="0" * 64)
    monkeypatch.setenv("CLEARSIGHT_MODELS_DIR", str(models))
    get_settings.cache_clear()
    assert human.read_manifest() == {}
    assert registry.get_spec("emotion").sha256 == "not-built"


def test_unbuilt_model_says_how_to_build_it_and_never_downloads(tmp_path, monkeypatch):
    from clearsight.config import get_settings

    monkeypatch.setenv("CLEARSIGHT_MODELS_DIR", str(tmp_path / "empty"))
    get_settings.cache_clear()
    with pytest.raises(ModelNotFoundError, match="clearsight build-models"):
        registry.resolve("nanodet")


def test_unknown_model_name_is_refused_before_any_work(tmp_path):
    with pytest.raises(ModelNotFoundError, match="gear"):
        human.build(["gear"], model_dir=tmp_path)


def test_missing_npm_is_a_clear_build_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on PATH
    with pytest.raises(human.BuildError, match="npm is not installed"):
        human.fetch_tarball(tmp_path, log=lambda s: None)


def test_unreachable_registry_is_a_clear_build_error(tmp_path, monkeypatch):
    # a stand-in npm that fails the way npm does offline
    fake = tmp_path / "bin"
    fake.mkdir()
    npm = fake / "npm"
    npm.write_text("#!/bin/sh\necho 'npm error code ENOTFOUND' >&2\nexit 1\n")
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(human.BuildError, match="unreachable"):
        human.fetch_tarball(tmp_path, log=lambda s: None)


def test_reference_comparison_detects_a_different_model():
    rng = np.random.default_rng(1)
    vals = rng.normal(size=256).tolist()
    want = {"out": {"shape": [1, 256], "index": list(range(256)), "values": vals, "mean": 0.0, "abs_mean": 0.8}}
    same = {"renamed": dict(want["out"])}
    assert human.compare_reference(same, want) == []
    off = {"x": {**want["out"], "values": [v + 0.05 for v in vals]}}
    assert human.compare_reference(off, want)
    wrong_shape = {"x": {**want["out"], "shape": [1, 255]}}
    assert "missing" in human.compare_reference(wrong_shape, want)[0]


def test_committed_reference_covers_every_model():
    ref = human.load_reference()
    assert set(ref) == set(human.MODEL_NAMES)
    for name, outs in ref.items():
        for o in outs.values():
            assert len(o["values"]) == len(o["index"]) > 0, name
