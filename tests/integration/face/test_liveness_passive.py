"""The trained passive score on real printed-photo attacks (NUAA), on subjects the
classifier never saw: it must separate them, and better than the networks alone did."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.conftest import data_path

pytestmark = pytest.mark.integration

TRAIN_SUBJECTS = ("0001", "0002", "0003", "0004", "0005", "0006")
HELD_OUT = ("0007", "0008")


@pytest.fixture(scope="module")
def built():
    """Skip (with the command to run) unless the human-models are built and intact."""
    from clearsight.models import human

    missing = {n: why for n, why in human._status(("antispoof", "liveness"), None).items() if why}
    if missing:
        pytest.skip(f"human-models not built ({missing}); run `clearsight build-models`")


def _auc(pos, neg) -> float:
    pos, neg = np.asarray(pos), np.asarray(neg)
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


@pytest.fixture(scope="module")
def cues(built):
    """Cues of a few frames per subject and class (every k-th listed frame: no choice by eye)."""
    from clearsight.face.liveness import PassiveLiveness
    from clearsight.face.pipeline import FacePipeline
    from clearsight.io import load_image

    root = data_path("liveness", "nuaa_print")
    rows = list(csv.DictReader(open(root / "labels.csv")))
    pipe, lv = FacePipeline(fallback_detector=None), PassiveLiveness(method="models")
    out: dict[str, list] = {"frame": [], "raw": [], "label": [], "subject": []}
    for subj in TRAIN_SUBJECTS + HELD_OUT:
        for label in ("live", "print"):
            mine = [r for r in rows if r["subject"] == subj and r["label"] == label]
            take = 3 if subj in TRAIN_SUBJECTS else 4
            for r in mine[:: len(mine) // take][:take]:
                rgb = load_image(root / r["path"])
                faces = pipe.detect(rgb, mesh=True)
                if not faces:
                    continue
                face = max(faces, key=lambda f: f.box.area)
                raw = lv.raw_scores(rgb, face)
                out["frame"].append(lv.cues(rgb, face, raw)["frame"])
                out["raw"].append(lv.calibrate(lv.feature(*raw)))
                out["label"].append(int(label == "live"))
                out["subject"].append(subj)
    return {k: np.asarray(v) for k, v in out.items()}


def test_trained_score_separates_unseen_subjects_better_than_the_networks(cues):
    from clearsight.face.liveness import cue_names, fit_logistic

    train = np.isin(cues["subject"], TRAIN_SUBJECTS)
    test = ~train
    assert set(cues["subject"][test]) == set(HELD_OUT)
    clf = fit_logistic(cues["frame"][train], cues["label"][train], cue_names()["frame"])
    p = clf.probability(cues["frame"][test])
    y = cues["label"][test]
    trained, old = _auc(p[y == 1], p[y == 0]), _auc(cues["raw"][test][y == 1], cues["raw"][test][y == 0])
    print(f"held-out AUC trained {trained:.3f}, networks {old:.3f}")
    assert trained >= 0.9 and trained > old + 0.2, (trained, old)


def test_shipped_classifier_is_the_pinned_file_and_reads_these_cues(built):
    from clearsight.face.liveness import CLASSIFIER_MODEL, cue_names, load_classifiers
    from clearsight.models import get_spec

    clfs = load_classifiers()  # verified against the registry's sha256
    assert list(clfs["frame"].names) == cue_names()["frame"] and list(clfs["crop"].names) == cue_names()["crop"]
    assert "NUAA" in get_spec(CLASSIFIER_MODEL).licence


def test_cli_scores_photos_and_exits_by_verdict(built):
    import json

    from typer.testing import CliRunner

    from clearsight.cli import app

    root = data_path("liveness", "antispoof_samples", "images")
    runner = CliRunner()
    r = runner.invoke(app, ["liveness", str(root / "image_T1.jpg"), "--json"])
    assert r.exit_code == 0, r.output
    (face,) = json.loads(r.stdout.strip().splitlines()[-1])["faces"]
    assert face["is_live"] and face["method"] == "trained:frame"
    r = runner.invoke(app, ["liveness", str(root / "image_F1.jpg"), str(root / "image_T1.jpg")])
    assert r.exit_code == 1 and "NOT live" in r.stdout  # a printed photo among them
    r = runner.invoke(app, ["liveness", str(root / "missing.jpg")])
    assert r.exit_code == 2
    r = runner.invoke(app, ["detect", "--liveness", "--json", str(root / "image_F1.jpg")])
    assert r.exit_code == 0, r.output
    (face,) = json.loads(r.stdout.strip().splitlines()[-1])["faces"]
    assert face["liveness"]["is_live"] is False and "mesh_points" not in face
