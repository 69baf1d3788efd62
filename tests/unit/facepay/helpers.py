"""Shared by the face-pay tests: a FacePay over a gallery of synthetic templates (the
real embedder's model id, so the open-set calibration applies), on SQLite or PostgreSQL.

The gate decisions in these tests are the real `GateDecider.decide_template` (a 1:N
decision-mode search at the facepay FPIR) on synthetic templates; the face checks
before it (quality, liveness) run on real photos in tests/integration/facepay."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from clearsight.apps.facepay import FacePay, GateDecision
from clearsight.config import Settings
from clearsight.settings import FacePaySettings, GallerySettings
from clearsight.types import Embedding

MODEL = "dlib-resnet-v1"


def vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return v / np.linalg.norm(v)


def emb(seed: int) -> Embedding:
    return Embedding(vec(seed), MODEL)


def make_settings(data: Path, url: str | None = None, **facepay: object) -> Settings:
    return Settings(data_dir=data / "data", secrets_dir=data / "keys", gallery=GallerySettings(database_url=url),
                    facepay=FacePaySettings(**facepay))


@contextmanager
def open_facepay(settings: Settings) -> Iterator[FacePay]:
    from clearsight.gallery import Gallery

    g = Gallery.open(settings, model_id=MODEL)
    fp = FacePay.open(settings, gallery=g)
    try:
        yield fp
    finally:
        fp.close()
        g.close()


def rider(fp: FacePay, seed: int, top_up: int = 0, name: str | None = None):  # noqa: ANN201
    """An enrolled rider whose face is the synthetic template `seed`."""
    e = fp.enrol_rider(name or f"rider {seed}", [emb(seed)], actor="test")
    if top_up:
        fp.top_up(e.rider.id, top_up, actor="test")
    return e


def decide(fp: FacePay, seed: int, gate: str = "gate:test") -> GateDecision:
    return fp.decider.decide_template(emb(seed), actor=gate)
