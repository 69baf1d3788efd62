"""faceres as an embedder, liveness and expression on real faces."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from clearsight.io import load_image
from tests.conftest import data_path

pytestmark = pytest.mark.integration


def _auc(pos, neg):
    pos, neg = np.asarray(pos), np.asarray(neg)
    return float((pos[:, None] > neg[None, :]).mean())


@pytest.mark.parametrize("embedder", ["faceres", "faceres-box"])
def test_faceres_separates_same_and_different_people(built, embedder):
    from clearsight.face.pipeline import FacePipeline

    root = data_path("faces", "deepface_pairs")
    with open(root / "master.csv") as fh:
        pairs = [(r["file_x"], r["file_y"], r["Decision"] == "Yes") for r in csv.DictReader(fh)][::3]
    pipe = FacePipeline(embedder=embedder)
    cache = {}

    def emb(name):
        if name not in cache:
            cache[name] = pipe.embed(root / name).vector
        return cache[name]

    scores = [(float(np.dot(emb(a), emb(b))), s) for a, b, s in pairs]
    assert pipe.embed(root / pairs[0][0]).dim == 1024
    auc = _auc([x for x, s in scores if s], [x for x, s in scores if not s])
    assert auc > 0.97  # bench/verify_embedders.py: best accuracy 0.993-0.997 on the full set


def test_faceres_batch_equals_single(built):
    from clearsight.face.pipeline import FacePipeline
    from clearsight.vision.face_embedding import embed_faces

    rgb = load_image(data_path("faces", "deepface_pairs", "couple.jpg"))
    pipe = FacePipeline(embedder="faceres")
    faces = pipe.detect(rgb)
    assert len(faces) >= 2
    batch = embed_faces(pipe.embedder, rgb, faces)
    single = [embed_faces(pipe.embedder, rgb, [f])[0] for f in faces]
    for a, b in zip(batch, single):
        np.testing.assert_allclose(a.vector, b.vector, atol=1e-4)
    assert float(np.dot(batch[0].vector, batch[1].vector)) < 0.9  # two different people


def test_liveness_orders_the_smoke_set(built):
    from clearsight.face.liveness import PassiveLiveness

    root = data_path("liveness", "antispoof_samples")
    lv = PassiveLiveness()
    with open(root / "labels.csv") as fh:
        rows = list(csv.DictReader(fh))
    scores = {r["image"]: lv.check_image(root / r["image"]) for r in rows}
    live = [scores[r["image"]].live_score for r in rows if r["label"] == "live"]
    spoof = [scores[r["image"]].live_score for r in rows if r["label"] == "spoof"]
    assert min(live) > max(spoof)
    assert all(0.0 <= s.live_score <= 1.0 for s in scores.values())


def test_expression_on_real_faces(built):
    from clearsight.face.expression import EXPRESSIONS, ExpressionClassifier
    from clearsight.face.pipeline import FacePipeline

    rgb = load_image(data_path("faces", "deepface_pairs", "couple.jpg"))
    faces = FacePipeline().detect(rgb)
    out = ExpressionClassifier().classify(rgb, faces)
    assert len(out) == len(faces) >= 2
    for e in out:
        assert set(e.scores) == set(EXPRESSIONS)
        assert abs(sum(e.scores.values()) - 1) < 1e-3
        assert 0 <= e.agitation <= 1
